"""Prompt templates kept as files in this folder, loaded and validated in one place.

A prompt file is Markdown with YAML front matter that declares its placeholders:

    ---
    description: What the prompt is for.
    placeholders: [question, sources]
    ---
    Text with {question} and {sources}; a literal brace is doubled: {{ or }}.

`load_prompt(name)` checks at load that the body uses exactly the declared placeholders, each a plain name (no
`{0}`, `{a.b}`, `{a!r}` or `{a:>9}`); `Prompt.render` fails on a missing or unknown value. `Prompt.version` is a
short hash of the body, stored with every answer so that a change of wording can be traced in the results.

Untrusted text (retrieved documents, earlier messages of a thread) enters a prompt only through `data_block`, which
fences it in a tag and neutralises anything inside that could pass for a tag, so it can neither close its own fence
nor open another one.
"""
from __future__ import annotations

import hashlib
import html
import re
import string
from dataclasses import dataclass
from pathlib import Path

import yaml

PROMPTS_DIR = Path(__file__).parent
_NAME = re.compile(r"[a-z][a-z0-9_]*")
_FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n", re.S)
_FRONT_MATTER_KEYS = {"description", "placeholders"}
# A '<', or a look-alike of one, that starts something a reader could take for a tag: <source, </source, < /x, <!--.
_TAG_START = re.compile(r"[<\u2039\u2329\u27e8\u3008\ufe64\uff1c](?=\s*/?\s*[A-Za-z!?/])")


class PromptError(ValueError):
    """A prompt file that is missing or malformed, or a render with the wrong values."""


@dataclass(frozen=True)
class Prompt:
    """A validated prompt template: its text, the placeholders it takes and a short hash of it."""

    name: str
    text: str
    placeholders: frozenset[str]
    version: str
    description: str = ""

    def render(self, **values: object) -> str:
        """The text with every placeholder filled; PromptError naming any missing or unknown value."""
        missing, unknown = self.placeholders - values.keys(), values.keys() - self.placeholders
        if missing or unknown:
            problems = ([f"missing {_names(missing)}"] if missing else []) + \
                       ([f"unknown {_names(unknown)}"] if unknown else [])
            raise PromptError(f"prompt '{self.name}' takes {_names(self.placeholders)}: {'; '.join(problems)}")
        return self.text.format_map(values)  # values are inserted as they are: braces in them stay literal


def load_prompt(name: str, directory: Path | None = None) -> Prompt:
    """Read and validate the prompt file `<name>.md` (from this folder unless `directory` is given)."""
    directory = Path(directory) if directory else PROMPTS_DIR
    if not _NAME.fullmatch(name or ""):
        raise PromptError(f"'{name}' is not a prompt name: use lower-case letters, digits and '_'")
    path = directory / f"{name}.md"
    if not path.is_file():
        available = ", ".join(sorted(p.stem for p in directory.glob("*.md"))) or "none"
        raise PromptError(f"no prompt '{name}' in {directory}; available: {available}")
    try:
        raw = path.read_text(encoding="utf-8").replace("\r\n", "\n")
    except (OSError, UnicodeDecodeError) as exc:
        raise PromptError(f"prompt '{name}' could not be read: {exc}") from exc
    meta, text = _split_front_matter(name, raw)
    declared = _declared_placeholders(name, meta)
    used = _used_placeholders(name, text)
    if used != declared:
        raise PromptError(f"prompt '{name}' declares {_names(declared)} but its text uses {_names(used)}")
    return Prompt(name, text, frozenset(declared), content_hash(text), str(meta.get("description", "")))


def combined_version(*prompts: Prompt) -> str:
    """One short version for prompts used together (stored with each answer)."""
    return content_hash("\n".join(f"{p.name}:{p.version}" for p in prompts))


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def data_block(tag: str, text: str, **attributes: object) -> str:
    """Untrusted `text` fenced as <tag attr="...">...</tag>, with nothing inside that can pass for a tag."""
    attrs = "".join(f' {key}="{html.escape(str(value), quote=True)}"'
                    for key, value in attributes.items() if value is not None)
    return f"<{tag}{attrs}>\n{neutralise(text)}\n</{tag}>"


def neutralise(text: str) -> str:
    """`text` with every '<' (or look-alike) that could start a tag written as '&lt;'."""
    return _TAG_START.sub("&lt;", text)


def _split_front_matter(name: str, raw: str) -> tuple[dict, str]:
    match = _FRONT_MATTER.match(raw)
    if not match:
        raise PromptError(f"prompt '{name}' must start with front matter ('---' lines) declaring its placeholders")
    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        raise PromptError(f"prompt '{name}': front matter is not valid YAML: {exc}") from exc
    if not isinstance(meta, dict) or set(meta) - _FRONT_MATTER_KEYS:
        raise PromptError(f"prompt '{name}': front matter may only hold {_names(_FRONT_MATTER_KEYS)}")
    text = raw[match.end():].strip()
    if not text:
        raise PromptError(f"prompt '{name}' has no text after its front matter")
    return meta, text


def _declared_placeholders(name: str, meta: dict) -> set[str]:
    declared = meta.get("placeholders", [])
    if not isinstance(declared, list) or not all(isinstance(p, str) and p.isidentifier() for p in declared):
        raise PromptError(f"prompt '{name}': 'placeholders' must be a list of names, e.g. [question, sources]")
    return set(declared)


def _used_placeholders(name: str, text: str) -> set[str]:
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise PromptError(f"prompt '{name}': {exc} (write a literal brace as {{{{ or }}}})") from exc
    used = set()
    for _, field, spec, conversion in parsed:
        if field is None:
            continue
        if not field.isidentifier() or spec or conversion:
            raise PromptError(f"prompt '{name}': placeholder '{{{field}{'!' + conversion if conversion else ''}"
                              f"{':' + spec if spec else ''}}}' must be a plain name, e.g. {{question}}")
        used.add(field)
    return used


def _names(names) -> str:
    return "{" + ", ".join(sorted(names)) + "}" if names else "no placeholders"
