"""Policy-change recall: when an ingest changes or removes a section that recent answers cited, the people who got
those answers are told — once per change, in one DM per person per ingest run — after an admin approves (or at once
with ROLLOUT_RECALL_AUTO=1). FAQ entries the helpdesk added from answers citing the section are flagged for review.

Work is durable: a run's recalls are stored before the index changes (knowledge.ingest's `on_changes`), and each
message is claimed by one process, sent, and marked; a send that failed is retried by the next `send`, and a send
whose outcome is unknown (a dropped connection, a process that died) is looked for in the DM before it is re-sent.
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.errors import RolloutError
from bot.recall import blocks as recall_blocks
from bot.recall.store import RecallStats, RecallStore
from bot.recall.tables import HELPDESK
from bot.store.models import utc_now
from knowledge.sections import SectionChange, is_real_change

log = logging.getLogger(__name__)

DEFAULT_DAYS = 90
SEND_LEASE = timedelta(minutes=10)  # a message claimed longer ago than this by a sender that died is taken over


class RecallError(RolloutError):
    """A recall request that cannot be done; the message is safe to show."""


class Poster:
    """How recall messages reach Slack (bot/recall/poster.py): post, and find an earlier post by its marker."""

    def post(self, recipient: str, text: str, blocks: list[dict]) -> tuple[str, str]: ...

    def find(self, recipient: str, marker: str, since: datetime) -> tuple[str, str] | None: ...


@dataclass
class SendResult:
    """What one `send` did."""

    approved: int = 0
    sent: int = 0
    failed: list[str] = field(default_factory=list)  # "recipient: error"

    def line(self) -> str:
        text = f"recalls: {self.sent} messages sent"
        if self.approved:
            text = f"approved {self.approved}; " + text
        return text + (f", {len(self.failed)} failed (run `rollout recall send` again to retry)" if self.failed else "")


@dataclass(frozen=True)
class Preview:
    """One message awaiting approval or sending, as it would be sent."""

    message_id: int
    run_id: str
    kind: str
    recipient: str
    status: str
    text: str
    blocks: list[dict]
    answers: int
    sent_at: datetime | None = None
    last_error: str | None = None


def affects(cited: str, change: SectionChange) -> bool:
    """Whether a change matters to an answer that relied on `cited`: removed, or really different from it now."""
    return change.after is None or is_real_change(cited, change.after)


class Recalls:
    """Records the answers a run of ingest affected, previews them, and sends them once approved."""

    def __init__(self, store: RecallStore, poster: Poster | None, *, days: int = DEFAULT_DAYS,
                 helpdesk_channel: str | None = None, clock: Callable[[], datetime] = utc_now):
        self.store, self.poster, self.days = store, poster, days
        self.helpdesk_channel, self.clock = helpdesk_channel, clock

    def record(self, changes: Sequence[SectionChange]) -> RecallStats:
        """Store the recalls an ingest's section changes call for (cosmetic changes are left out), as one run."""
        now = self.clock()
        run_id = f"{now:%Y%m%d}-{uuid.uuid4().hex[:6]}"
        real = [c for c in changes if c.real]
        stats = self.store.record_run(run_id, real, now - timedelta(days=self.days), now, affects,
                                      self.helpdesk_channel)
        log.info("recall run %s: %d of %d section changes real; %d answers of %d people; %d FAQ entries", run_id,
                 len(real), len(changes), stats.answers, stats.people, stats.faq_entries)
        return stats

    def previews(self, statuses: Sequence[str] = ("pending",), run_id: str | None = None) -> list[Preview]:
        """The messages in these states, rendered as they would be sent."""
        return [self._preview(m) for m in self.store.messages(statuses, run_id)]

    def _preview(self, message) -> Preview:
        if message.kind == HELPDESK:
            items = self.store.faq_items(message.id)
            text, blocks = recall_blocks.helpdesk_message(message.id, items)
        else:
            items = self.store.items(message.id)
            text, blocks = recall_blocks.person_message(message.id, items)
        count = len({(i.entry if message.kind == HELPDESK else i.conversation).id for i in items})
        return Preview(message.id, message.run_id, message.kind, message.recipient, message.status, text, blocks,
                       count, message.sent_at, message.last_error)

    def approve(self, by: str, run_id: str | None = None) -> int:
        return self.store.approve(by, self.clock(), run_id)

    def send(self, by: str, run_id: str | None = None) -> SendResult:
        """Approve what is pending (of one run) as `by`, then send every approved message not yet sent, once."""
        if self.poster is None:
            raise RecallError("SLACK_BOT_TOKEN is not set, so recalls cannot be sent; nothing was approved.")
        result = SendResult(approved=self.approve(by, run_id))
        for message_id in self.store.sendable(self.clock(), SEND_LEASE, run_id):
            self._send_one(message_id, result)
        return result

    def _send_one(self, message_id: int, result: SendResult) -> None:
        message = self.store.claim(message_id, self.clock(), SEND_LEASE)
        if message is None:
            return  # another process has it
        preview = self._preview(message)
        if not preview.answers:
            self.store.finish(message_id, now=self.clock(), status="superseded")
            return
        marker = recall_blocks.marker(message_id)
        try:
            found = self.poster.find(message.recipient, marker, message.created_at) if message.attempts > 1 else None
            channel, ts = found or self.poster.post(message.recipient, preview.text, preview.blocks)
        except Exception as exc:  # noqa: BLE001  (any failure: recorded, retried by the next send)
            error = str(exc) or type(exc).__name__
            log.warning("recall message %s to %s not sent: %s", message_id, message.recipient, error)
            self.store.finish(message_id, error=error, now=self.clock())
            result.failed.append(f"{message.recipient}: {error}")
            return
        self.store.finish(message_id, channel=channel, ts=ts, now=self.clock())
        result.sent += 1
