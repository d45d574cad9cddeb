"""Document audiences: which chunks apply to whom, and answers that say so.

A document applies to one or more named audiences when its front matter says so with names (`audience: pilot`,
`audience: [pilot, engineering]`, `audience: pilot, engineering`); a section does when the line right under its heading
is `<!-- audience: engineering -->` (the marker is invisible where the Markdown is rendered, and covers the section's
subsections too). A name is one word (letters, digits, `.`, `_`, `-`), compared in lower case. Anything else is a
description for readers, not a restriction: "All employees and contractors" or "Pilot participants, their managers,
and anyone curious" apply to everyone, as do `everyone`, `all` and no audience at all. A section marker overrides the
document's audience (`<!-- audience: everyone -->` opens a section of a pilot-only document to all).

Only the audiences the organisation has restrict (`Scope.known`): a name no one can belong to is the document's
description of its readers, not a restriction. Third-party policies say `audience: [developers, managers, isso]` for
"who should read this"; restricting by those names would hide such a document from every asker in a workspace that
has no such audience (measured on ../shared/corpus: dev recall@5 fell from 1.0 to 0.979 with one document hidden).
The bot knows the pilot audience and every audience `rollout audiences`, a channel setting or a Slack user group
defines (bot/comms/memberships.py); `known=None` lets every name restrict.

Restricted chunks carry `restricted: True` and their names in `audiences` (a list) in Chroma, so retrieval filters on
them with a `where` clause; the lexical index keeps the same names per chunk (knowledge/lexical.py).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:  # knowledge.answer imports the chunker, which imports this module
    from knowledge.answer import Answer

EVERYONE_NAMES = frozenset({"everyone", "all", "*"})
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,79}")
MARKER = re.compile(r"^\s*<!--\s*audience\s*:\s*(.*?)\s*-->\s*$", re.IGNORECASE)
RESTRICTED_KEY, AUDIENCES_KEY, MARKED_KEY = "restricted", "audiences", "audience_marked"
# How answers name the asker's audience ("As a pilot participant: …"); other names read "As a member of <name>".
LABELS = {"pilot": "As a pilot participant"}
EVERYONE_ELSE = "For everyone else"


def audience_names(value) -> tuple[str, ...]:
    """The audiences a front-matter or marker value restricts to; () when it applies to everyone (no value, a
    description in words, or `everyone`/`all`)."""
    if value is None or isinstance(value, bool):
        return ()
    parts = [str(v) for v in value] if isinstance(value, (list, tuple, set)) else re.split(r"[,;]", str(value))
    names = [p.strip().lower() for p in parts if p.strip()]
    if not names or any(n in EVERYONE_NAMES for n in names) or not all(_NAME.fullmatch(n) for n in names):
        return ()
    return tuple(sorted(set(names)))


def marker_names(line: str) -> tuple[str, ...] | None:
    """The audiences an `<!-- audience: … -->` line names (() for everyone), or None if it is not a marker."""
    match = MARKER.match(line)
    return None if match is None else audience_names(match[1])


def chunk_audience_metadata(names: Iterable[str], marked: bool = False) -> dict:
    """What a chunk's metadata carries about its audience: nothing for everyone; `marked` when the names come from
    an `<!-- audience: … -->` marker, which declares them audiences (see `Scope.known`)."""
    names = sorted(set(names))
    return {RESTRICTED_KEY: True, AUDIENCES_KEY: names, **({MARKED_KEY: True} if marked else {})} if names else {}


def declared_by_marker(metadata: dict) -> tuple[str, ...]:
    """The audiences a stored chunk's `<!-- audience: … -->` marker names (() when unmarked)."""
    return audiences_of(metadata) if metadata.get(MARKED_KEY) else ()


def audiences_of(metadata: dict) -> tuple[str, ...]:
    """The audiences a stored chunk is restricted to; () for everyone."""
    if not metadata.get(RESTRICTED_KEY):
        return ()
    raw = metadata.get(AUDIENCES_KEY) or ()
    return tuple(raw) if isinstance(raw, (list, tuple)) else tuple(audience_names(raw))


APPLIES, MINE, OTHERS = "applies", "mine", "others"


@dataclass(frozen=True)
class Scope:
    """Which chunks a search may use. APPLIES: the general ones and those of `audiences` (the asker's); MINE: only
    the restricted ones of `audiences` (the asker's own rule); OTHERS: only the restricted ones that do not apply
    (to tell someone that other rules exist). A chunk is restricted only by the names in `known` (every name when
    `known` is None)."""

    audiences: frozenset[str] = frozenset()
    mode: str = APPLIES
    known: frozenset[str] | None = None

    def restricting(self, chunk_audiences: Iterable[str]) -> tuple[str, ...]:
        """The names among a chunk's audiences that restrict it."""
        return tuple(a for a in chunk_audiences if self.known is None or a in self.known)

    def admits(self, chunk_audiences: tuple[str, ...]) -> bool:
        chunk_audiences = self.restricting(chunk_audiences)
        mine = bool(self.audiences.intersection(chunk_audiences))
        if self.mode == MINE:
            return mine
        if self.mode == OTHERS:
            return bool(chunk_audiences) and not mine
        return not chunk_audiences or mine

    def where(self) -> dict | None:
        """The Chroma `where` clause for this scope (None: every chunk)."""
        names = sorted(self.audiences)
        mine = [{AUDIENCES_KEY: {"$contains": a}} for a in names]
        known = None if self.known is None else sorted(self.known - self.audiences)
        if self.mode == MINE:
            return _joined("$or", mine) if mine else NOTHING  # no audience: nothing is theirs
        if self.mode == OTHERS:
            if known is None:
                return _joined("$and", [{RESTRICTED_KEY: True}, *({AUDIENCES_KEY: {"$not_contains": a}} for a in names)])
            others = [{AUDIENCES_KEY: {"$contains": a}} for a in known]
            return _joined("$and", [_joined("$or", others), *({AUDIENCES_KEY: {"$not_contains": a}} for a in names)]) \
                if others else NOTHING
        general = [{RESTRICTED_KEY: {"$ne": True}}]
        if known is not None:  # restricted only by audiences the organisation does not have, or the asker's
            if not known:
                return None
            general.append(_joined("$and", [{AUDIENCES_KEY: {"$not_contains": a}} for a in known]))
        return _joined("$or", [*general, *mine])

    def within(self, mode: str) -> "Scope":
        """The same asker and known audiences, searching another part of the index."""
        return replace(self, mode=mode)


NOTHING = {RESTRICTED_KEY: "never"}


def _joined(operator: str, clauses: list[dict]) -> dict:
    return clauses[0] if len(clauses) == 1 else {operator: clauses}


GENERAL = Scope()


def scope_for(audiences: Iterable[str] = (), known: Iterable[str] | None = None) -> Scope:
    """The scope of someone in these audiences (names normalised as in documents), among the `known` audiences
    (None: every name a document gives restricts); the asker's own audiences are always known."""
    mine = frozenset(n.strip().lower() for n in audiences if n and n.strip())
    return Scope(mine, known=None if known is None else mine | {n.strip().lower() for n in known if n and n.strip()})


def label(names: Iterable[str]) -> str:
    """"As a pilot participant", "As a member of engineering"…"""
    names = sorted(names)
    first = next((n for n in names if n in LABELS), names[0] if names else "")
    return LABELS.get(first, f"As a member of {first}")


def leading_audiences(answer: Answer, evidence) -> set[str]:
    """The audiences of the section an answer leads with (its first cited source), when that section is restricted:
    what decides whether an audience has a rule of its own on the question. A section merely on the topic that the
    answer cites further down does not (measured: a confidence margin alone let a section about prompt retention
    claim questions about daily prompt caps)."""
    cited = sorted((s for s in answer.sources if s.number in answer.cited), key=lambda s: s.number)
    if not answer.answered or not cited:
        return set()
    lead = (cited[0].path, cited[0].section)
    return {n for p in evidence.passages if (p.path, p.chunk.metadata.get("section") or None) == lead
            for n in audiences_of(p.chunk.metadata)}


def combined(own: Answer, names: Iterable[str], general: Answer | None) -> Answer:
    """The asker's own rule, led by their audience's label, then the general rule labelled for everyone else (when
    the general documents answer): "As a pilot participant: … [1]" then "For everyone else: … [2]". Sources are
    numbered 1..n in order of first use; a source both parts cite keeps one number."""
    from knowledge.base import renumbered

    text, sources = f"**{label(names)}:** {own.text}", list(own.sources)
    if general is not None and general.answered:
        numbers = _merged_numbers(sources, general.sources)
        sources += [replace(s, number=numbers[s.number]) for s in general.sources
                    if numbers[s.number] not in {o.number for o in own.sources}]
        general_text = _CITED.sub(lambda m: f"[{numbers.get(int(m[1]), int(m[1]))}]", general.text)
        text += f"\n\n**{EVERYONE_ELSE}:** {general_text}"
    return renumbered(replace(own, text=text, sources=tuple(sources), cited=()))


_CITED = re.compile(r"\[(\d{1,3})\]")


def _merged_numbers(own: list, general) -> dict[int, int]:
    """Each general source's number after the asker's: the same number for the same document and section."""
    by_place = {(s.path, s.section): s.number for s in own}
    offset = max((s.number for s in own), default=0)
    return {s.number: by_place.get((s.path, s.section), offset + s.number) for s in general}


def other_rules_note(names: Iterable[str]) -> str:
    """The line that tells someone outside an audience that it has rules of its own on their question."""
    who = " and ".join(_people(n) for n in sorted(names))
    return f"_{who[0].upper()}{who[1:]} have different rules on this._" if who else ""


def _people(name: str) -> str:
    return "pilot participants" if name == "pilot" else f"members of {name}"
