"""Abstention: decide whether the evidence is strong enough to answer, or the bot should say it doesn't know."""
from __future__ import annotations

from dataclasses import dataclass

from knowledge.retrieve import Evidence

# Calibrated on ../shared/eval/dev.jsonl (see README, "Evaluation"); the same for every question.
DEFAULT_THRESHOLD = 0.415


@dataclass(frozen=True)
class Abstention:
    """Answer only when the best passage's fused score reaches the threshold."""

    threshold: float = DEFAULT_THRESHOLD

    def confidence(self, evidence: Evidence) -> float:
        return evidence.top.score if evidence.top else 0.0

    def answerable(self, evidence: Evidence) -> bool:
        return self.confidence(evidence) >= self.threshold
