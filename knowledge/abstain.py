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

from knowledge.retrieve import Evidence

SENTENCE_WEIGHT = 0.7
# Calibrated on ../shared/eval/dev.jsonl (see README, "Evaluation"): the middle of the widest gap between the
# answerable and unanswerable questions' confidences; the same for every question.
DEFAULT_THRESHOLD = 0.386


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
