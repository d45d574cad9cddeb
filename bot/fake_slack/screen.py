"""What a person would see of a message or a modal, as plain text for a terminal: Block Kit read the way Slack lays
it out (headers, sections, context lines, fields, buttons), links and mentions spelled out."""
from __future__ import annotations

import re
import textwrap

WIDTH = 96
_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]+)>")
_BARE_LINK = re.compile(r"<(https?://[^|>]+)>")
_MENTION = re.compile(r"<[@#]([A-Z0-9]+)(?:\|([^>]+))?>")
_SPECIAL = re.compile(r"<!(here|channel|everyone)[^>]*>")
_EMOJI_CODE = re.compile(r":([a-z0-9_+\-]+):")
# The emoji codes Rollout's own messages use, as a Slack client draws them; any other code stays as written.
EMOJI = {"+1": "👍", "-1": "👎", "raising_hand": "🙋", "arrow_down_small": "🔽", "arrow_up_small": "🔼",
         "handshake": "🤝", "shield": "🛡️", "hourglass_flowing_sand": "⏳", "warning": "⚠️",
         "white_check_mark": "✅", "large_orange_circle": "🟠", "red_circle": "🔴", "large_yellow_circle": "🟡",
         "large_green_circle": "🟢", "mega": "📣", "loudspeaker": "📢", "memo": "📝", "bell": "🔔",
         "calendar": "📅", "bulb": "💡", "lock": "🔒", "rotating_light": "🚨", "wave": "👋", "tada": "🎉",
         "star": "⭐", "mag": "🔍", "information_source": "ℹ️", "speech_balloon": "💬", "books": "📚"}


def plain(mrkdwn: str, names: dict[str, str] | None = None) -> str:
    """Slack mrkdwn as a person reads it: `<url|label>` as "label (url)", `<@U1>` as "@name", entities decoded."""
    names = names or {}
    text = _LINK.sub(r"\2 (\1)", mrkdwn)
    text = _BARE_LINK.sub(r"\1", text)
    text = _MENTION.sub(lambda m: "@" + (m[2] or names.get(m[1], m[1])), text)
    text = _SPECIAL.sub(r"@\1", text)
    text = _EMOJI_CODE.sub(lambda m: EMOJI.get(m[1], m[0]), text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def message_lines(params: dict, names: dict[str, str] | None = None) -> list[str]:
    """A message (chat.postMessage, chat.update, a response_url reply) as lines; its `text` when it has no blocks."""
    blocks = params.get("blocks") or []
    if not blocks:
        return _wrapped(plain(params.get("text") or "", names))
    return [line for block in blocks for line in block_lines(block, names)]


def view_lines(view: dict, names: dict[str, str] | None = None) -> list[str]:
    """A modal: its title, its blocks and fields, and its buttons."""
    lines = [f"┌ {plain(_text(view.get('title')))} ┐"]
    lines += [line for block in view.get("blocks") or [] for line in block_lines(block, names)]
    buttons = [_text(view.get(key)) for key in ("close", "submit") if view.get(key)]
    if buttons:
        lines.append("  ".join(f"[ {label} ]" for label in buttons))
    return lines


def block_lines(block: dict, names: dict[str, str] | None = None) -> list[str]:
    """One block as the lines it takes on screen."""
    kind = block.get("type")
    if kind == "header":
        return [plain(_text(block.get("text")), names).upper()]
    if kind == "divider":
        return ["─" * 40]
    if kind == "section":
        lines = _wrapped(plain(_text(block.get("text")), names))
        lines += [f"  {plain(_text(field), names)}" for field in block.get("fields") or []]
        if accessory := block.get("accessory"):
            lines += _elements([accessory])
        return lines
    if kind == "context":
        parts = [plain(_text(e), names) for e in block.get("elements") or [] if e.get("type") != "image"]
        return _wrapped("  ".join(parts), prefix="  ")
    if kind == "actions":
        return _elements(block.get("elements") or [])
    if kind == "input":
        return [f"{_text(block.get('label'))}: {_input_shape(block.get('element') or {})}"]
    if kind == "rich_text":
        return _wrapped(plain(_rich_text(block), names))
    return []


def _elements(elements: list[dict]) -> list[str]:
    labels = [f"[ {plain(_text(e.get('text')))} ]" if e.get("type") == "button"
              else f"[ {_text(e.get('placeholder'))} ▾ ]" for e in elements]
    return ["  ".join(labels)] if labels else []


def _input_shape(element: dict) -> str:
    options = [_text(o.get("text")) for o in element.get("options") or []]
    if element.get("type") in ("static_select", "radio_buttons", "checkboxes") and options:
        return " / ".join(plain(option) for option in options)
    return "_" * 24


def _rich_text(block: dict) -> str:
    out = []
    for element in block.get("elements") or []:
        out.append("".join(part.get("text", "") for part in element.get("elements") or []))
    return "\n".join(out)


def _text(obj) -> str:
    if isinstance(obj, dict):
        return obj.get("text") or ""
    return obj or ""


def _wrapped(text: str, prefix: str = "") -> list[str]:
    lines = []
    for paragraph in text.splitlines() or [""]:
        lines += textwrap.wrap(paragraph, WIDTH, initial_indent=prefix, subsequent_indent=prefix + "  ") or [""]
    return lines
