"""Answers and the answer providers behind one small interface, chosen by name (ROLLOUT_ANSWERER)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Protocol, Sequence

from knowledge.chunking import SECTION_SEPARATOR
from knowledge.errors import KnowledgeError


@dataclass(frozen=True)
class Source:
    """A numbered source an answer cites: a document and its best-matching section."""

    number: int
    path: str
    title: str
    section: str | None
    score: float
    url: str | None = None

    @property
    def label(self) -> str:
        """'Title › Section', as answers cite it."""
        return f"{self.title}{SECTION_SEPARATOR}{self.section}" if self.section else self.title

    def to_json(self) -> dict:
        return {"path": self.path, "title": self.title, "section": self.section, "score": round(self.score, 4)}


@dataclass(frozen=True)
class Answer:
    """What the bot says to a question, whether it really answered, and what it cites."""

    question: str
    text: str
    answered: bool
    sources: tuple[Source, ...] = ()
    answerer: str = "extractive"
    prompt_version: str | None = None
    latency_ms: int = 0
    cited: tuple[int, ...] = field(default=())  # the source numbers the text refers to
    more: str = ""  # the longer extract behind *Show more* / --more; "" when the short answer is all there is

    def shown_sources(self, expanded: bool = False) -> list[Source]:
        """The sources to list under the answer: those its text cites (and its longer extract, when that is shown
        too); for a don't-know, every document it suggests."""
        if not self.answered:
            return list(self.sources)
        cited = {*self.cited, *(citations(self.more) if expanded else ())}
        return [s for s in self.sources if s.number in cited]

    def to_json(self) -> dict:
        return {"answer": self.text, "answered": self.answered, "more": self.more,
                "sources": [s.to_json() for s in self.sources]}


CITATION = re.compile(r"\[(\d{1,3})\]")


def citations(text: str) -> tuple[int, ...]:
    """The source numbers a text cites ('[2]'), in order of first use."""
    return tuple(dict.fromkeys(int(n) for n in CITATION.findall(text or "")))


class Answerer(Protocol):
    """Turns a question and its retrieved evidence into an Answer."""

    name: str

    def answer(self, question: str, evidence, history: Sequence[tuple[str, str]] = ()) -> Answer: ...


ANSWERERS: dict[str, Callable[[str], Answerer]] = {}


def answerer_kind(kind: str):
    """Register a factory for answerers named `kind` or `kind:<options>`."""

    def register(factory: Callable[[str], Answerer]):
        ANSWERERS[kind] = factory
        return factory

    return register


def make_answerer(spec: str, **options) -> Answerer:
    """Build the answerer a ROLLOUT_ANSWERER value names, e.g. 'extractive' or 'llm:openai:gpt-4o-mini'."""
    kind, _, rest = (spec or "extractive").strip().partition(":")
    factory = ANSWERERS.get(kind)
    if factory is None:
        known = ", ".join(sorted(ANSWERERS)) or "none"
        raise KnowledgeError(f"unknown answerer '{spec}' (ROLLOUT_ANSWERER); known kinds: {known}")
    return factory(rest, **options)
