"""A document's sections as text, and whether a change to one matters: what policy-change recall is built on.

A section is every sentence indexed under one (document, section label), in document order, across the chunks it was
cut into. A change between two versions of a section is *cosmetic* when, once formatting is set aside, every word that
differs is a typo-level edit of its counterpart; anything else (a number, a negation, a word added, removed or
replaced) is *real*. See README, "Policy-change recall", for the measurement behind the rule.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from difflib import SequenceMatcher

from rapidfuzz.distance import OSA

# A changed word is a typo fix when it is at most this many edits (insert, delete, substitute, swap two neighbours)
# from its counterpart and at least TYPO_MIN_LETTERS long: "recieve"/"receive", "employes"/"employees". Two edits
# already turn "approved" into "unapproved" and "must" into "most"'s neighbours, so one it is (tests/recall).
TYPO_MAX_EDITS = 1
TYPO_MIN_LETTERS = 4
# Words whose one-letter edits change a rule ("not"/"now", "may"/"way", "must"/"most"): never a typo.
RULE_WORDS = frozenset({"must", "most", "may", "not", "now", "no", "never", "only", "all", "any", "can", "cannot",
                        "will", "shall", "should", "allowed", "disallowed", "approved", "unapproved", "before",
                        "after", "within", "without", "with", "is", "isn't", "are", "aren't", "do", "don't"})

_MARKUP = re.compile(r"[*_`~#>|]+")
_DASHES = str.maketrans({"\u2013": "-", "\u2014": "-", "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})
_WORD = re.compile(r"[0-9]+(?:[.,:][0-9]+)*%?|[^\W_]+(?:'[^\W_]+)?")


@dataclass(frozen=True)
class SectionChange:
    """One section of a document as it was before an ingest and as it is after (None: the section is gone)."""

    path: str
    title: str
    section: str | None
    before: str
    after: str | None

    @property
    def fingerprint(self) -> str:
        """The change itself: the same before and after give the same fingerprint, in any process, on any run."""
        return text_hash(f"{self.path}\x00{self.section or ''}\x00{text_hash(self.before)}\x00"
                         f"{text_hash(self.after) if self.after is not None else 'removed'}")

    @property
    def real(self) -> bool:
        return self.after is None or is_real_change(self.before, self.after)


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def section_texts(chunks: Iterable) -> dict[str | None, str]:
    """{section label: its sentences, one a line} for the chunks of one document (StoredChunk), in document order."""
    ordered = sorted(chunks, key=lambda c: int(c.metadata.get("ordinal") or 0))
    sections: dict[str | None, list[str]] = {}
    for chunk in ordered:
        sentences = chunk.sentences or [chunk.text]
        for i, sentence in enumerate(sentences):
            sections.setdefault(chunk.section_of(i), []).append(sentence)
    return {label: "\n".join(lines) for label, lines in sections.items()}


def document_changes(path: str, title: str, before: Iterable, after: Iterable | None) -> list[SectionChange]:
    """The sections of a document that differ in any way between two sets of its chunks (after None: removed)."""
    old, new = section_texts(before), section_texts(after or [])
    return [SectionChange(path, title, label, text, new.get(label))
            for label, text in old.items() if new.get(label) != text]


def normalise(text: str) -> str:
    """Text with formatting set aside: Unicode forms, Markdown marks, quotes and dashes, case, spacing."""
    text = unicodedata.normalize("NFKC", text).translate(_DASHES)
    return " ".join(_MARKUP.sub(" ", text).casefold().split())


def words(text: str) -> list[str]:
    """The words and numbers of a text once normalised; punctuation and hyphens are formatting."""
    return _WORD.findall(normalise(text).replace("-", " "))


def is_real_change(before: str, after: str) -> bool:
    """True unless the two texts differ only in formatting, spacing, punctuation, case or typo-level spellings."""
    old, new = words(before), words(after)
    for op, i1, i2, j1, j2 in SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if op == "equal" or "".join(old[i1:i2]) == "".join(new[j1:j2]):  # "e mail" / "email", "follow up" / "followup"
            continue
        if op != "replace" or i2 - i1 != j2 - j1:
            return True
        if not all(is_typo(a, b) for a, b in zip(old[i1:i2], new[j1:j2])):
            return True
    return False


def is_typo(a: str, b: str) -> bool:
    """Whether two different words are the same word, one of them misspelt."""
    if not (a.isalpha() and b.isalpha()) or a in RULE_WORDS or b in RULE_WORDS:
        return False
    return min(len(a), len(b)) >= TYPO_MIN_LETTERS and OSA.distance(a, b) <= TYPO_MAX_EDITS


def similarity(before: str, after: str) -> float:
    """How alike two texts are once normalised (difflib's ratio, 0..1): shown with each change, not deciding it."""
    return SequenceMatcher(None, normalise(before), normalise(after), autojunk=False).ratio()


def changed_lines(before: str, after: str | None) -> tuple[list[str], list[str]]:
    """The sentences of `before` that are not in `after`, and those of `after` not in `before` (document order)."""
    old = before.split("\n")
    new = after.split("\n") if after else []
    kept_old, kept_new = set(new), set(old)
    return [line for line in old if line not in kept_old], [line for line in new if line not in kept_new]
