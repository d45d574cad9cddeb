"""Block Kit atoms every feature builds its messages from: sections within Slack's limits, context lines, buttons,
notices, Markdown to mrkdwn, and escaping so that user and document text never becomes live markup. The answer message
itself is answering's (bot/answering/blocks.py)."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

SECTION_LIMIT = 3000  # characters of mrkdwn in one section block
MAX_BLOCKS = 50  # blocks in one message
MAX_TEXT_SECTIONS = 40  # leaves room for the notes, sources and buttons around an answer
FALLBACK_LIMIT = 300  # the notification text; the blocks carry the whole answer
SHORTENED = "\n… _(answer shortened to fit in Slack)_"


def notice_blocks(text: str) -> list[dict]:
    """A message that is not an answer (a warning, a limit, an apology); `text` is already mrkdwn."""
    return text_sections(text, "notice")


def fallback_text(text: str) -> str:
    """The plain notification text sent alongside blocks."""
    return shorten(re.sub(r"\s+", " ", text).strip(), FALLBACK_LIMIT) or "Rollout"


def button(action_id: str, label: str, value: str, primary: bool = False) -> dict:
    """A button element."""
    element = {"type": "button", "action_id": action_id, "value": value,
               "text": {"type": "plain_text", "text": label, "emoji": True}}
    if primary:
        element["style"] = "primary"
    return element


def context(text: str, block_id: str) -> dict:
    """A small grey line of mrkdwn."""
    return {"type": "context", "block_id": block_id,
            "elements": [{"type": "mrkdwn", "text": shorten(text, SECTION_LIMIT)}]}


def text_sections(text: str, block_id: str, max_sections: int = MAX_TEXT_SECTIONS) -> list[dict]:
    """mrkdwn split into as many sections as Slack needs (each ≤ 3,000 characters), shortened past `max_sections`."""
    pieces = split_text(text, SECTION_LIMIT - len(SHORTENED)) or ["…"]
    max_sections = max(max_sections, 1)
    if len(pieces) > max_sections:
        pieces = pieces[:max_sections]
        pieces[-1] += SHORTENED
    return [{"type": "section", "block_id": block_id if i == 0 else f"{block_id}_{i}",
             "text": {"type": "mrkdwn", "text": piece}} for i, piece in enumerate(pieces)]


def split_text(text: str, limit: int) -> list[str]:
    """Pieces of at most `limit` characters, cut at a paragraph, line, sentence or word boundary where possible."""
    pieces, rest = [], text.strip()
    while len(rest) > limit:
        window = rest[:limit]
        cut = max(window.rfind(mark) for mark in ("\n\n", "\n", ". ", " "))
        cut = cut + 1 if cut > limit // 2 else limit
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    return [*pieces, rest] if rest else pieces


def shorten(text: str, limit: int) -> str:
    """`text`, cut to `limit` characters with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def escape(text: str) -> str:
    """Escape the three characters Slack treats as control characters in mrkdwn."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_CODE = re.compile(r"(`[^`\n]+`)")
_LINK = re.compile(r"\[([^\]\n]+)\]\(((?:https?|mailto):[^)\s]+)\)")
_BOLD = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_ITALIC = re.compile(r"(?<![*\w])\*(?=[^\s*])([^*\n]+?)(?<=[^\s*])\*(?![*\w])")
_STRIKE = re.compile(r"~~(?=\S)(.+?)(?<=\S)~~")
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*$", re.MULTILINE)
_BULLET = re.compile(r"^(\s*)[-*+]\s+", re.MULTILINE)
_BOLD_MARK = "\x00"


def to_mrkdwn(text: str) -> str:
    """Markdown (as documents and LLMs write it) to Slack mrkdwn: **bold** → *bold*, [text](url) → <url|text> ..."""
    return "".join(part if _CODE.fullmatch(part) else _convert(part) for part in _CODE.split(escape(text)))


def _convert(text: str) -> str:
    text = _LINK.sub(_link, text)
    text = _HEADING.sub(lambda m: f"{_BOLD_MARK}{m.group(1)}{_BOLD_MARK}", text)
    text = _BULLET.sub(lambda m: f"{m.group(1)}• ", text)
    text = _BOLD.sub(lambda m: f"{_BOLD_MARK}{m.group(2)}{_BOLD_MARK}", text)
    text = _ITALIC.sub(r"_\1_", text)
    text = _STRIKE.sub(r"~\1~", text)
    return text.replace(_BOLD_MARK, "*")


def _link(match: re.Match) -> str:
    return link(match.group(2), match.group(1))


def link(url: str, label: str, show_host: bool = True) -> str:
    """A Slack link whose text shows the real host: "[the policy](https://x.example/p)" reads "the policy
    (x.example)", so a label can never pass one address off as another. `show_host=False` leaves a label that does not
    look like an address as it is (a document's title); one that does still gets the host. `label` is escaped mrkdwn."""
    label = label.replace("|", "/")
    try:
        host = urlsplit(url).hostname or url.partition(":")[2]
    except ValueError:  # not a URL a browser would open ("https://[x"): the label alone, not linked
        return label
    if "\\" in url:  # browsers read "\\" as "/": the host urlsplit finds is not the one that would open
        return f"{label} ({url})"
    if label in (url, host) or not (show_host or _ADDRESS.search(label)):
        return f"<{url}|{label}>"
    return f"<{url}|{label} ({host})>"


_ADDRESS = re.compile(r"://|\bwww\.|@|\b[\w-]+\.(?:[a-z]{2,})\b", re.IGNORECASE)


def is_web_url(url: str) -> bool:
    return url.startswith(("https://", "http://")) and not any(c in url for c in " <>|\\")
