"""Heading-aware chunking: every chunk keeps its document title and section path.

Sections are split on Markdown headings (outside code fences); a section's paragraphs are packed into chunks of at
most `max_chars`, and a paragraph longer than that is split on sentence boundaries.
"""
from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass

from knowledge.audiences import marker_names
from knowledge.tables import tables_as_rows

# Chosen by measurement on ../shared/eval/dev.jsonl (see README, "Evaluation").
DEFAULT_MAX_CHARS = 700
# A section shorter than this ("Instructions.", a lone list intro) is merged into the section after it, so no chunk is
# all heading and no body.
MIN_SECTION_CHARS = 200
SECTION_SEPARATOR = " › "
# A list or table too long for one chunk is cut by line, and each piece repeats the sentence that introduces it when
# that is no longer than this: a row read without it can say the opposite of its table. Keeping such lists whole in
# bigger chunks instead (up to 1.3x and 2x the chunk size) measured worse on both question sets (README).
MAX_REPEATED_INTRO = 300

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_FENCE_LINE = re.compile(r"^[ \t]*(?:```|~~~).*$", re.MULTILINE)
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")
# A full stop after these is not a sentence end ("e.g. Slack", "Mr. Smith", "No. 5"); "etc." usually is.
_ABBREVIATION = re.compile(r"(?:^|[\s(])(?:e\.g|i\.e|cf|vs|viz|approx|incl|dept|fig|mr|mrs|dr|u\.s|"
                           r"[A-Z])\.[\"')\]]*$", re.IGNORECASE)
_BARE_MARKER = re.compile(r"(?:[-*+•]\s*)?\(?(?:\d{1,3}|[a-z]|[ivx]{1,4})[.)]", re.IGNORECASE)
# A line that starts a list item or a table row: kept on its own line so that it is a sentence of its own.
_ITEM_START = r"\s*(?:[-*+•]|\d+[.)]|[a-z][.)]|\([a-z0-9]{1,3}\))\s"


@dataclass(frozen=True)
class Section:
    """A run of body text under one heading path; a merged section remembers the sections it was made of."""

    path: tuple[str, ...]
    text: str
    parts: tuple[tuple[tuple[str, ...], str], ...] = ()  # (path, text) of each original section, when merged
    audience: tuple[str, ...] | None = None  # from an `<!-- audience: … -->` marker (() = everyone); None: unmarked

    @property
    def origins(self) -> tuple[tuple[tuple[str, ...], str], ...]:
        return self.parts or ((self.path, self.text),)


@dataclass(frozen=True)
class Chunk:
    """A piece of a document that is indexed and cited on its own."""

    id: str
    title: str
    section: str | None
    text: str
    ordinal: int
    # The section each sentence really sits under, when it differs from `section` for some (a short section merged
    # into its neighbour); empty when every sentence is under `section`.
    sentence_sections: tuple[str | None, ...] = ()
    audiences: tuple[str, ...] = ()  # who it applies to (knowledge/audiences.py); () = everyone
    marked: bool = False  # `audiences` come from an `<!-- audience: … -->` marker (not only the front matter)

    @property
    def embedding_text(self) -> str:
        return embedding_text(self.title, self.section, self.text)


def own_heading(title: str, section: str | None) -> str:
    """The heading a chunk sits directly under (the document title when it has none): what its section is about, in
    its author's words. Embedded on its own as one more cue of what the chunk answers (knowledge/retrieve.py)."""
    return section.split(SECTION_SEPARATOR)[-1] if section else title


def embedding_text(title: str, section: str | None, text: str) -> str:
    """What is embedded and lexically indexed: title and section give context to short passages."""
    heading = title if not section else f"{title}{SECTION_SEPARATOR}{section}"
    return f"{heading}\n{text}"


def clean_inline(text: str) -> str:
    """Strip Markdown/HTML decoration that carries no meaning for retrieval or display."""
    text = re.sub(r"\{\{[<%].*?[%>]\}\}", " ", text)  # Hugo shortcodes
    text = re.sub(r"\{%.*?%\}", " ", text)  # Jekyll tags
    text = re.sub(r"<!--.*?-->", " ", text, flags=re.DOTALL)
    text = re.sub(r"!\[([^\]]*)\]\([^)]*\)", r"\1", text)  # images
    text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", text)  # links
    text = re.sub(r"\[([^\]]+)\]\[[^\]]*\]", r"\1", text)  # reference links
    text = re.sub(r"</?[a-zA-Z][^>]{0,200}>", " ", text)  # html tags
    text = re.sub(r"(\*\*|__)(.+?)\1", r"\2", text)
    text = re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", r"\1", text)
    text = re.sub(r"`([^`]+)`", r"\1", text)
    text = html.unescape(text).replace("\u00a0", " ")  # "&nbsp;", "&amp;": after the tags are gone
    return re.sub(r"[ \t]+", " ", text).strip()


def split_sections(text: str, title: str) -> list[Section]:
    """Split Markdown into sections by heading, tracking the heading path and any audience marker (the first line
    under a heading: `<!-- audience: engineering -->`), which covers the heading's subsections too."""
    sections: list[Section] = []
    stack: list[tuple[int, str, tuple[str, ...] | None]] = []
    body: list[str] = []
    in_fence = False
    top: tuple[str, ...] | None = None  # a marker under the document's own title heading: the whole document's
    under_heading = pushed = False

    def flush() -> None:
        joined = "\n".join(body).strip()
        if joined:
            marked = next((a for _, _, a in reversed(stack) if a is not None), top)
            sections.append(Section(tuple(h for _, h, _ in stack), joined, audience=marked))
        body.clear()

    for line in text.split("\n"):
        if _FENCE.match(line):
            in_fence = not in_fence
        match = None if in_fence else _HEADING.match(line)
        if not match:
            if under_heading and line.strip():
                under_heading = False
                if (names := marker_names(line)) is not None:
                    if stack and stack[-1][2] is None and pushed:
                        stack[-1] = (*stack[-1][:2], names)
                    else:
                        top = names
                    continue
            body.append(line)
            continue
        flush()
        level, heading = len(match.group(1)), clean_inline(match.group(2))
        while stack and stack[-1][0] >= level:
            stack.pop()
        pushed = bool(heading) and heading.casefold() != title.casefold()
        if pushed:
            stack.append((level, heading, None))
        under_heading = True
    flush()
    return sections


def split_sentences(text: str) -> list[str]:
    """Split prose into sentences; list items and lines are kept whole."""
    out: list[str] = []
    for line in re.split(rf"\n\s*\n|\n(?={_ITEM_START})|\n(?=\s*\|)", text):
        line = " ".join(line.split())
        if line:
            out.extend(_rejoin_abbreviations([s.strip() for s in _SENTENCE_END.split(line) if s.strip()]))
    return out


def _rejoin_abbreviations(pieces: list[str]) -> list[str]:
    """Undo splits after "e.g.", "Mr." and the like, and after a list item's own number ("1. User IDs…")."""
    out: list[str] = []
    for piece in pieces:
        if out and (_ABBREVIATION.search(out[-1]) or _BARE_MARKER.fullmatch(out[-1])):
            out[-1] = f"{out[-1]} {piece}"
        else:
            out.append(piece)
    return out


def _paragraphs(text: str) -> list[str]:
    """Paragraphs with their wrapping undone; a list item or table row keeps its own line."""
    text = _FENCE_LINE.sub("", text)  # the ``` / ~~~ markers carry no meaning; the code between them is kept
    parts = ["\n".join(clean_inline(" ".join(line.split()))
                       for line in re.split(rf"\n(?={_ITEM_START})|\n(?=\s*\|)", p))
             for p in re.split(r"\n\s*\n", text)]
    return [p.strip() for p in parts if p.strip() and not re.fullmatch(r"[-|:\s]+", p)]


def _pack(paragraphs: list[str], max_chars: int) -> list[str]:
    pieces: list[str] = []
    for paragraph in _with_their_lists(paragraphs):
        if len(paragraph) <= max_chars:
            pieces.append(paragraph)
        else:  # by line (list items stay on their own lines), and a line too long by sentence
            lines = [piece for line in paragraph.split("\n")
                     for piece in ([line] if len(line) <= max_chars
                                   else _pack_sentences(split_sentences(line), max_chars))]
            pieces.extend(_with_intro(_fill(lines, max_chars, "\n"), paragraph))
    return _fill(pieces, max_chars, "\n\n")


def _has_list(paragraph: str) -> bool:
    """An intro followed by list items or table rows (as _with_their_lists joins them)."""
    first, _, rest = paragraph.partition("\n")
    return bool(rest) and not _is_list(first) and _is_list(rest)


def _with_intro(pieces: list[str], paragraph: str) -> list[str]:
    """A list cut into pieces: every piece after the first starts with the list's intro, so no row is read without
    the header that says what its table is ("The following are not approved:")."""
    if not _has_list(paragraph) or len(pieces) < 2:
        return pieces
    intro = paragraph.partition("\n")[0]
    if len(intro) > MAX_REPEATED_INTRO:
        return pieces
    return [pieces[0], *(p if p.startswith(intro) else f"{intro}\n{p}" for p in pieces[1:])]


def _with_their_lists(paragraphs: list[str]) -> list[str]:
    """A list (or table) joined to the paragraph before it, which introduces it: they are cut apart only by line."""
    out: list[str] = []
    for paragraph in paragraphs:
        if out and _is_list(paragraph) and not _is_list(out[-1]):
            out[-1] = f"{out[-1]}\n{paragraph}"
        else:
            out.append(paragraph)
    return out


def _is_list(paragraph: str) -> bool:
    return re.match(_ITEM_START, paragraph) is not None


def _pack_sentences(sentences: list[str], max_chars: int) -> list[str]:
    pieces: list[str] = []
    for sentence in sentences:
        while len(sentence) > max_chars:  # a "sentence" with no punctuation at all
            cut = sentence.rfind(" ", 0, max_chars)
            cut = cut if cut > 0 else max_chars
            pieces.append(sentence[:cut])
            sentence = sentence[cut:].strip()
        pieces.append(sentence)
    return _fill(pieces, max_chars, " ")


def _fill(pieces: list[str], max_chars: int, separator: str) -> list[str]:
    """Join pieces greedily into runs of at most max_chars (a piece is never split here)."""
    out: list[str] = []
    current = ""
    for piece in pieces:
        if current and len(current) + len(separator) + len(piece) > max_chars:
            out.append(current)
            current = piece
        else:
            current = f"{current}{separator}{piece}" if current else piece
    if current:
        out.append(current)
    return out


def merge_short_sections(sections: list[Section], min_chars: int = MIN_SECTION_CHARS) -> list[Section]:
    """Fold each too-short section into the next one (the last into the one before), keeping its heading."""
    merged: list[Section] = []
    carry: Section | None = None
    for section in sections:
        if carry is not None and carry.audience != section.audience:  # never mix who a chunk applies to
            merged.append(carry)
            carry = None
        if carry is not None:
            section = _join(carry, section)
            carry = None
        if len(section.text) < min_chars:
            carry = section
        else:
            merged.append(section)
    if carry is not None:
        same = merged and merged[-1].audience == carry.audience
        merged.append(_join(merged.pop(), carry) if same else carry)
    return merged


def _join(first: Section, second: Section) -> Section:
    """One section from two neighbours: cited under the longer one's path, the other's heading kept as a line."""
    keep, other = (first, second) if len(first.text) >= len(second.text) else (second, first)
    def text_of(section: Section) -> str:
        heading = section.path[-1] if section is other and section.path else None
        return f"{heading}:\n\n{section.text}" if heading and heading not in keep.path else section.text
    return Section(keep.path, f"{text_of(first)}\n\n{text_of(second)}", first.origins + second.origins,
                   first.audience)


def chunk_document(doc_key: str, title: str, text: str, max_chars: int = DEFAULT_MAX_CHARS,
                   audiences: tuple[str, ...] = ()) -> list[Chunk]:
    """Cut one document into chunks with stable, content-derived ids; each applies to the document's `audiences`
    unless its section is marked otherwise."""
    chunks: list[Chunk] = []
    seen: set[str] = set()
    for section in merge_short_sections(split_sections(tables_as_rows(text), title)):
        applies = audiences if section.audience is None else section.audience
        label = SECTION_SEPARATOR.join(section.path) or None
        under = _sections_of_sentences(section)
        for body in _pack(_paragraphs(section.text), max_chars):
            chunk_id = _chunk_id(doc_key, label, body, seen)
            labels = tuple(under.next(sentence, label) for sentence in split_sentences(body)) if under else ()
            chunks.append(Chunk(chunk_id, title, label, body, len(chunks),
                                labels if any(found != label for found in labels) else (), applies,
                                section.audience is not None))
    return chunks


class _SentenceSections:
    """The section of each sentence of a merged section, read in document order: a sentence repeated in two of its
    parts ("No.", "Yes.") is matched to the next occurrence, not the first."""

    def __init__(self, pairs: list[tuple[str, str | None]]):
        self.pairs, self.at = pairs, 0

    def __bool__(self) -> bool:
        return bool(self.pairs)

    def next(self, sentence: str, default: str | None) -> str | None:
        for k in range(self.at, len(self.pairs)):
            if self.pairs[k][0] == sentence:
                self.at = k + 1
                return self.pairs[k][1]
        return default


def _sections_of_sentences(section: Section) -> _SentenceSections:
    """For a merged section, the section label of each of its sentences (and of the heading line a merge keeps), in
    the order the merged text reads them."""
    pairs: list[tuple[str, str | None]] = []
    if section.parts:
        for paragraph in _paragraphs(section.text):
            for sentence in split_sentences(paragraph):
                pairs.append((sentence, None))
        labels = iter(_part_labels(section))
        pairs = [(sentence, label) for (sentence, _), label in zip(pairs, labels)]
    return _SentenceSections(pairs)


def _part_labels(section: Section) -> list[str | None]:
    """The label of every sentence of a merged section's text, part by part (a part's heading line first when the
    merge wrote one)."""
    labels: list[str | None] = []
    text = section.text
    for path, part in section.parts:
        label = SECTION_SEPARATOR.join(path) or None
        heading_line = f"{path[-1]}:" if path else None
        count = sum(len(split_sentences(p)) for p in _paragraphs(part))
        if heading_line and heading_line not in section.path[-1:] and text.lstrip().startswith(heading_line):
            labels.append(label)
            text = text.lstrip()[len(heading_line):]
        labels += [label] * count
        text = text.lstrip()[len(part):] if text.lstrip().startswith(part) else text
    return labels


ABOUT_SECTION = "About this document"
# Front-matter keys that are knowledge people ask about, and how each reads as a sentence ({title}, {value}).
_FACTS = (
    (("owner", "owners", "author", "maintainer"), "{title} is owned by {value}."),
    (("approved_by", "approver"), "{title} was approved by {value}."),
    (("version",), "The current version of {title} is version {value}."),
    (("effective_date", "effective", "effective_from"), "{title} took effect on {value}."),
    (("last_updated", "updated", "last_reviewed", "reviewed", "date", "modified"), "{title} was last updated on "
                                                                                    "{value}."),
    (("next_review", "review_date"), "{title} is next reviewed on {value}."),
    (("audience", "applies_to"), "{title} applies to {value}."),
    (("contact", "questions_to"), "Questions about {title} go to {value}."),
)


def about_chunk(doc_key: str, title: str, metadata: dict, ordinal: int) -> Chunk | None:
    """A document's front matter (owner, version, dates, audience) as sentences that can be found and quoted: "who
    owns the acceptable use policy?" or "who is the CISO?" when the name is only in `owner:`."""
    name = title if re.match(r"(?i)the\b", title) else f"the {title}"
    sentences = []
    for keys, template in _FACTS:
        value = next((v for k in keys if (v := _fact(metadata.get(k)))), None)
        if value:
            sentence = template.format(title=name, value=value)
            sentences.append(sentence[0].upper() + sentence[1:])
    if not sentences:
        return None
    body = " ".join(sentences)
    return Chunk(_chunk_id(doc_key, ABOUT_SECTION, body, set()), title, ABOUT_SECTION, body, ordinal)


def _fact(value) -> str:
    """A front-matter value as words: a list joined, a mapping as "key: value", a date without a midnight time."""
    if isinstance(value, dict):
        value = [f"{k}: {v}" for k, v in value.items() if _fact(v)]
    if isinstance(value, (list, tuple, set)):
        return ", ".join(filter(None, (_fact(v) for v in value)))
    if value is None or isinstance(value, bool):
        return ""
    text = clean_inline(" ".join(str(value).split()))
    return shorten_words(re.sub(r"[ T]00:00(?::00)?$", "", text), MAX_FACT_CHARS)


def shorten_words(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + "…"


MAX_FACT_CHARS = 200


def _chunk_id(doc_key: str, section: str | None, body: str, seen: set[str]) -> str:
    base = hashlib.sha256(f"{doc_key}\x00{section or ''}\x00{body}".encode()).hexdigest()[:32]
    chunk_id, n = base, 1
    while chunk_id in seen:  # identical text twice in one section
        chunk_id, n = f"{base}-{n}", n + 1
    seen.add(chunk_id)
    return chunk_id
