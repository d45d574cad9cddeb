"""Top knowledge gaps: questions Rollout could not answer or that got a 👎, grouped by similarity, with counts.

Similarity is cosine between vectors. By default the vectors are lexical (content words, crudely stemmed): pilot
questions are short and mostly reuse the policy's own words, grouping runs in the CLI and the weekly job without
loading a model, and the groups are deterministic (testable). `vectorize=` takes any other vectors (e.g. an
embedder's, to group paraphrases too)."""
from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

SIMILAR = 0.5  # cosine at or above which two questions are the same gap
STOP_WORDS = frozenset("""a an and any are as at be can could do does for from have how i if in is it its may me my
of on or our should so that the their there this to use using was we what when where which who why will with would
you your""".split())

Vectorize = Callable[[list[str]], list[Sequence[float]] | list[dict[str, float]]]


@dataclass
class Gap:
    """A group of similar questions: the first one asked stands for the group."""

    question: str
    count: int = 0
    unanswered: int = 0
    not_helpful: int = 0
    examples: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"question": self.question, "count": self.count, "unanswered": self.unanswered,
                "not_helpful": self.not_helpful, "examples": self.examples}


def top_gaps(items: Sequence[tuple[str, str]], limit: int = 5, vectorize: Vectorize | None = None,
             threshold: float = SIMILAR) -> list[Gap]:
    """Group (question, why) pairs, why = "unanswered" | "not_helpful", oldest first; the biggest groups first."""
    if not items:
        return []
    vectors = (vectorize or lexical_vectors)([q for q, _ in items])
    groups: list[tuple[object, Gap]] = []
    for (question, why), vector in zip(items, vectors):
        best = max(groups, key=lambda g: _cosine(g[0], vector), default=None)
        if best is None or _cosine(best[0], vector) < threshold:
            best = (vector, Gap(question))
            groups.append(best)
        gap = best[1]
        gap.count += 1
        setattr(gap, why, getattr(gap, why) + 1)
        if question not in gap.examples and len(gap.examples) < 3:
            gap.examples.append(question)
    ranked = sorted((g for _, g in groups), key=lambda g: -g.count)  # stable: ties keep first-asked order
    return ranked[:limit]


def lexical_vectors(questions: list[str]) -> list[dict[str, float]]:
    """Bag-of-content-words vectors."""
    return [dict(Counter(_stem(w) for w in re.findall(r"[a-z0-9]+", q.lower()) if w not in STOP_WORDS))
            for q in questions]


def _stem(word: str) -> str:
    for suffix in ("ing", "ies", "es", "ed", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def _cosine(a, b) -> float:
    if isinstance(a, dict):
        dot = sum(value * b.get(key, 0.0) for key, value in a.items())
        norms = math.sqrt(sum(v * v for v in a.values())) * math.sqrt(sum(v * v for v in b.values()))
    else:
        dot = sum(x * y for x, y in zip(a, b))
        norms = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norms if norms else 0.0
