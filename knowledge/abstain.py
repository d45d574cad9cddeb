"""Abstention: decide whether the evidence is strong enough to answer, or the bot should say it doesn't know.

Confidence leans on the best sentence of the best passage — how close the closest sentence the bot could quote comes
to the question — and keeps some of that passage's fused score. A passage can be on the question's topic as a whole
(a password policy for a question about passwords) without one sentence that answers it: the fused score rewards the
topic, the sentence the answer. On ../shared/eval/dev.jsonl, at each signal's best threshold:

    fused passage score alone          0.900 abstention accuracy (0.883 leaving each question out in turn)
    best sentence alone                0.933, but two answerable questions refused (0.900)
    0.7 sentence + 0.3 passage score   0.933, every answerable question answered (0.933)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from knowledge.retrieve import Evidence

SENTENCE_WEIGHT = 0.7
# Calibrated on ../shared/eval/dev.jsonl (see README, "Evaluation"): the middle of the widest gap between the
# answerable and unanswerable questions' confidences; the same for every question.
DEFAULT_THRESHOLD = 0.390
# A don't-know suggests documents only when the evidence came this close to the threshold; below it nothing found is
# close, and naming "closest documents" for a question about the canteen would only mislead.
NEAR_MISS = 0.06


@dataclass(frozen=True)
class Abstention:
    """Answer only when the best passage holds a sentence close enough to the question."""

    threshold: float = DEFAULT_THRESHOLD

    def confidence(self, evidence: Evidence) -> float:
        top = evidence.top
        if top is None:
            return 0.0
        return SENTENCE_WEIGHT * top.sentence + (1 - SENTENCE_WEIGHT) * top.score

    def answerable(self, evidence: Evidence) -> bool:
        return self.confidence(evidence) >= self.threshold

    def near_miss(self, evidence: Evidence) -> bool:
        """Not answerable, but close enough that the closest documents are worth suggesting."""
        return self.threshold - NEAR_MISS <= self.confidence(evidence) < self.threshold


def fit_threshold(confidences: Sequence[float], answerable: Sequence[bool]) -> float:
    """The threshold that decides most questions right: of the cut points that do, the middle of the widest gap
    between neighbouring confidences (the most room on both sides for questions not seen)."""
    points = sorted(set(confidences))
    if len(points) < 2:
        return DEFAULT_THRESHOLD
    cuts = [(a + b) / 2 for a, b in zip(points, points[1:])]
    gaps = [b - a for a, b in zip(points, points[1:])]
    right = [sum((c >= cut) == y for c, y in zip(confidences, answerable)) for cut in cuts]
    best = max(right)
    return max((gap, cut) for cut, gap, n in zip(cuts, gaps, right) if n == best)[1]


def held_out_accuracy(confidences: Sequence[float], answerable: Sequence[bool]) -> float:
    """Abstention accuracy leaving each question out in turn and fitting the threshold on the others: what to expect
    on questions the threshold was not fitted on."""
    n = len(confidences)
    if n < 3:
        return float("nan")
    right = 0
    for i in range(n):
        rest_c, rest_y = [*confidences[:i], *confidences[i + 1:]], [*answerable[:i], *answerable[i + 1:]]
        right += (confidences[i] >= fit_threshold(rest_c, rest_y)) == answerable[i]
    return right / n
