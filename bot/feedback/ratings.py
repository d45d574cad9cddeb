"""Answer feedback, Slack-free: a 👍/👎 is stored against the answer (one vote per person, changed by voting again),
and a 👎 may be explained with a reason and a comment."""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.answering.blocks import HELPFUL, NOT_HELPFUL
from bot.answering.safety import redact
from bot.errors import RolloutError
from bot.feedback.store import REASONS, FeedbackStore
from bot.logs import user_hash
from bot.store.models import utc_now
from bot.store.repositories import Store

log = logging.getLogger(__name__)

VOTE_ACTIONS = {HELPFUL: "helpful", NOT_HELPFUL: "not_helpful"}
COMMENT_LIMIT = 1000
REASON_LABELS = {"wrong": "It's wrong", "outdated": "It's outdated", "not_found": "It didn't find what I needed",
                 "unclear": "It's unclear", "other": "Something else"}
assert set(REASON_LABELS) == set(REASONS)


@dataclass(frozen=True)
class Vote:
    """What became of a click: the vote now stored and whether it was new, changed or the same as before."""

    conversation_id: int
    vote: str  # helpful | not_helpful
    change: str  # new | changed | same

    @property
    def acknowledgement(self) -> str:
        """The line shown under the answer once the vote is in."""
        emoji, label = (":+1:", "helpful") if self.vote == "helpful" else (":-1:", "not helpful")
        changed = " (vote changed)" if self.change == "changed" else ""
        return f"{emoji} Thanks — recorded: {label}{changed}. Press the other button to change your vote."


class UnknownAnswer(RolloutError):
    """The answer a click refers to is not in the database (any more)."""

    def __str__(self) -> str:
        return "I couldn't find that answer any more, so I couldn't record your vote. Please ask again."


class Feedback:
    """Ratings of answers, safe to call from many threads and processes (the database decides who was first)."""

    def __init__(self, store: Store, feedback: FeedbackStore, clock: Callable[[], datetime] = utc_now):
        self.store, self.feedback, self.clock = store, feedback, clock

    def vote(self, conversation_id: int | None, user_id: str, action: str) -> Vote:
        """Record a 👍/👎 click; a repeat of the same vote changes nothing, the other vote replaces it."""
        vote = VOTE_ACTIONS.get(action)
        if vote is None:
            raise ValueError(f"unknown feedback action {action!r}")
        if conversation_id is None or self.store.get_conversation(conversation_id) is None:
            raise UnknownAnswer()
        _rating, change = self.feedback.rate(conversation_id, user_id, vote, self.clock())
        log.info("%s on conversation %s by %s (%s)", vote, conversation_id, user_id, change,
                 extra={"conversation_id": conversation_id, "user_hash": user_hash(user_id)})
        return Vote(conversation_id, vote, change)

    def explain(self, conversation_id: int, user_id: str, reason: str | None, comment: str | None) -> dict[str, str]:
        """Store why an answer didn't help; the errors to show in the modal by field (empty when stored)."""
        errors = explanation_errors(reason, comment)
        if errors:
            return errors
        cleaned = redact(comment.strip()) if comment and comment.strip() else None
        if not self.feedback.explain(conversation_id, user_id, reason, cleaned, self.clock()):
            log.info("no 👎 by %s on %s to explain (changed to 👍 meanwhile?)", user_id, conversation_id)
        return {}


def explanation_errors(reason: str | None, comment: str | None) -> dict[str, str]:
    """Inline errors for the 👎 modal, keyed by field (block id)."""
    errors = {}
    if reason is not None and reason not in REASONS:
        errors["reason"] = "Choose one of the reasons listed."
    if comment and len(comment) > COMMENT_LIMIT:
        errors["comment"] = f"Please keep it under {COMMENT_LIMIT} characters (it is {len(comment)})."
    return errors


EXPORT_FIELDS = ("kind", "time", "user_id", "conversation_id", "question", "answered", "sources", "vote", "reason",
                 "comment", "ease", "usefulness", "saved_time", "team", "problems")


def export_records(feedback: FeedbackStore, since: datetime | None = None) -> list[dict]:
    """Every answer rating and survey response (since `since`), oldest first, as flat records with EXPORT_FIELDS.

    Free text is redacted again on the way out: whatever a future bug let into the database, exports carry no
    secrets or personal data."""
    records = []
    for rating, conversation in feedback.ratings(since):
        records.append(_record(kind="rating", time=rating.updated_at, user_id=rating.user_id,
                               conversation_id=conversation.id, question=conversation.question,
                               answered=conversation.answered, vote=rating.vote, reason=rating.reason,
                               comment=rating.comment,
                               sources="; ".join(s.get("title") or s.get("path", "") for s in conversation.sources)))
    for response in feedback.responses(since):
        records.append(_record(kind="survey", time=response.created_at, user_id=response.user_id,
                               ease=response.ease, usefulness=response.usefulness, saved_time=response.saved_time,
                               team=response.team, problems=response.problems, comment=response.comment))
    return sorted(records, key=lambda r: r["time"])


def _record(**values) -> dict:
    record = {name: values.get(name) for name in EXPORT_FIELDS}
    record["time"] = values["time"].isoformat()
    for name in ("question", "comment", "problems", "sources"):
        if record[name]:
            record[name] = redact(record[name])
    return record
