"""Slack's Block Kit limits, reported the way Slack reports them: "<problem> [json-pointer:/blocks/0/text]"."""

TEXT_TYPES = ("plain_text", "mrkdwn")
BLOCK_TYPES = frozenset(
    {"actions", "context", "divider", "file", "header", "image", "input", "markdown", "rich_text", "section",
     "table", "video", "call", "context_actions"}
)
MESSAGE_BLOCK_LIMIT = 50
SURFACE_BLOCK_LIMIT = 100
ID_LIMIT = 255
# field -> (max characters, plain_text only), per block or element type
BLOCK_TEXT = {
    "section": {"text": (3000, False)},
    "header": {"text": (150, True)},
    "input": {"label": (2000, True), "hint": (2000, True)},
    "image": {"title": (2000, True)},
}
ELEMENT_TEXT = {"button": {"text": (75, True)}}
MODAL_TEXT = {"title": (24, True), "submit": (24, True), "close": (24, True)}
CONFIRM_TEXT = {"title": (100, True), "text": (300, False), "confirm": (30, True), "deny": (30, True)}
# list field -> max items, per block or element type
BLOCK_ITEMS = {"actions": {"elements": 25}, "context": {"elements": 10}, "section": {"fields": 10}}
OPTION_ITEMS = {"overflow": 5, "checkboxes": 10, "radio_buttons": 10}
REQUIRED = {"header": ("text",), "input": ("label", "element"), "image": ("alt_text",)}
STRING_LIMITS = {"value": 2000, "url": 3000, "image_url": 3000, "alt_text": 2000}


class BlockChecker:
    """Collects every limit a message or view breaks. A block_id must be unique across the whole surface, an action_id
    within its block (Slack's rule: every input block of a modal may call its element "value")."""

    def __init__(self):
        self.errors: list[str] = []
        self._ids: dict[str, set[str]] = {"block_id": set(), "action_id": set()}

    def fail(self, problem: str, pointer: str) -> None:
        """Record one violation."""
        self.errors.append(f"{problem} [json-pointer:{pointer}]")

    def blocks(self, blocks: object, pointer: str, limit: int) -> None:
        """Check a list of blocks."""
        if not isinstance(blocks, list):
            return self.fail("must be an array", pointer)
        self.items(blocks, limit, pointer)
        for index, block in enumerate(blocks):
            self.block(block, f"{pointer}/{index}")

    def block(self, block: object, pointer: str) -> None:
        """Check one block: its type, id, text fields, item counts and elements."""
        if not isinstance(block, dict) or block.get("type") not in BLOCK_TYPES:
            return self.fail("unsupported block type", f"{pointer}/type")
        kind = block["type"]
        self.required(block, REQUIRED.get(kind, ()), pointer)
        if kind == "section" and "text" not in block and "fields" not in block:
            self.fail("must provide text or fields", pointer)
        self.unique_id(block, "block_id", pointer)
        self._ids["action_id"] = set()  # action ids are unique per block
        self.text_fields(block, BLOCK_TEXT.get(kind, {}), pointer)
        for field, limit in BLOCK_ITEMS.get(kind, {}).items():
            self.items(block.get(field, []), limit, f"{pointer}/{field}")
        for index, field in enumerate(block.get("fields", []) if kind == "section" else []):
            self.text(field, f"{pointer}/fields/{index}", 2000, plain_only=False)
        if kind == "actions":
            self.elements(block.get("elements", []), f"{pointer}/elements")
        if kind == "context":
            self.context_elements(block.get("elements", []), f"{pointer}/elements")
        for field in ("accessory", "element"):
            if isinstance(block.get(field), dict):
                self.element(block[field], f"{pointer}/{field}")
        self.strings(block, pointer)

    def elements(self, elements: list, pointer: str) -> None:
        """Check interactive elements."""
        for index, element in enumerate(elements):
            self.element(element, f"{pointer}/{index}")

    def context_elements(self, elements: list, pointer: str) -> None:
        """Context blocks hold only images and text objects."""
        for index, element in enumerate(elements):
            if isinstance(element, dict) and element.get("type") == "image":
                self.strings(element, f"{pointer}/{index}")
            else:
                self.text(element, f"{pointer}/{index}", 3000, plain_only=False)

    def element(self, element: object, pointer: str) -> None:
        """Check one interactive element: action_id, texts, options, confirm dialog."""
        if not isinstance(element, dict):
            return self.fail("must be an object", pointer)
        kind = element.get("type")
        self.unique_id(element, "action_id", pointer)
        self.text_fields(element, ELEMENT_TEXT.get(kind, {}), pointer)
        self.text_fields(element, {"placeholder": (150, True)}, pointer)
        options = element.get("options", [])
        self.items(options, OPTION_ITEMS.get(kind, 100), f"{pointer}/options")
        for index, option in enumerate(options):
            self.option(option, f"{pointer}/options/{index}")
        if isinstance(element.get("confirm"), dict):
            self.text_fields(element["confirm"], CONFIRM_TEXT, f"{pointer}/confirm")
        self.strings(element, pointer)

    def option(self, option: object, pointer: str) -> None:
        """Option objects: text up to 75 characters, value up to 150."""
        if not isinstance(option, dict):
            return self.fail("must be an object", pointer)
        self.text(option.get("text"), f"{pointer}/text", 75, plain_only=False)
        if len(str(option.get("value", ""))) > 150:
            self.fail("must be less than 151 characters", f"{pointer}/value")

    def text_fields(self, node: dict, limits: dict, pointer: str) -> None:
        """Check the text objects a node carries under the given field names."""
        for field, (limit, plain_only) in limits.items():
            if field in node:
                self.text(node[field], f"{pointer}/{field}", limit, plain_only)

    def text(self, obj: object, pointer: str, limit: int, plain_only: bool) -> None:
        """A text object: an allowed type and 1..limit characters."""
        allowed = ("plain_text",) if plain_only else TEXT_TYPES
        if not isinstance(obj, dict) or obj.get("type") not in allowed:
            return self.fail(f"must be a text object of type {' or '.join(allowed)}", pointer)
        text = obj.get("text")
        if not isinstance(text, str) or not text:
            return self.fail("must be more than 0 characters", f"{pointer}/text")
        if len(text) > limit:
            self.fail(f"must be less than {limit + 1} characters", f"{pointer}/text")

    def items(self, items: object, limit: int, pointer: str) -> None:
        """A list holds at most `limit` items."""
        if isinstance(items, list) and len(items) > limit:
            self.fail(f"no more than {limit} items allowed", pointer)

    def required(self, node: dict, fields: tuple, pointer: str) -> None:
        """Fields a node must carry."""
        for field in fields:
            if field not in node:
                self.fail(f"{field} is required", f"{pointer}/{field}")

    def unique_id(self, node: dict, key: str, pointer: str) -> None:
        """block_id/action_id: at most 255 characters, unique within the surface (block_id) or block (action_id)."""
        if key not in node:
            return
        value = str(node[key])
        if len(value) > ID_LIMIT:
            self.fail(f"must be less than {ID_LIMIT + 1} characters", f"{pointer}/{key}")
        if value in self._ids[key]:
            self.fail(f"{key} must be unique", f"{pointer}/{key}")
        self._ids[key].add(value)

    def strings(self, node: dict, pointer: str) -> None:
        """Plain string fields with length limits (value, url, image_url, alt_text)."""
        for field, limit in STRING_LIMITS.items():
            if isinstance(node.get(field), str) and len(node[field]) > limit:
                self.fail(f"must be less than {limit + 1} characters", f"{pointer}/{field}")


def message_errors(params: dict) -> list[str]:
    """Violations in a message's blocks and attachment blocks."""
    checker = BlockChecker()
    if "blocks" in params:
        checker.blocks(params["blocks"], "/blocks", MESSAGE_BLOCK_LIMIT)
    attachments = params.get("attachments")
    for index, attachment in enumerate(attachments if isinstance(attachments, list) else []):
        if isinstance(attachment, dict) and "blocks" in attachment:
            checker.blocks(attachment["blocks"], f"/attachments/{index}/blocks", MESSAGE_BLOCK_LIMIT)
    return checker.errors


def view_errors(view: object) -> list[str]:
    """Violations in a modal or Home tab view."""
    checker = BlockChecker()
    if not isinstance(view, dict) or view.get("type") not in ("modal", "home"):
        checker.fail("must be a modal or home view", "/view/type")
        return checker.errors
    if view["type"] == "modal":
        checker.required(view, ("title",), "/view")
        checker.text_fields(view, MODAL_TEXT, "/view")
    for field, limit in (("callback_id", 255), ("external_id", 255), ("private_metadata", 3000)):
        if len(str(view.get(field, ""))) > limit:
            checker.fail(f"must be less than {limit + 1} characters", f"/view/{field}")
    checker.blocks(view.get("blocks", []), "/view/blocks", SURFACE_BLOCK_LIMIT)
    return checker.errors
