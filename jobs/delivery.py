"""Fan-out: send one run's message to each of its recipients exactly once, whatever stops half-way.

Every recipient has a delivery row keyed by (job, run time, recipient). A sender moves it pending → sending before
it calls Slack and sending → sent after, each a compare-and-set, so two senders never both send it. A row still
"sending" after a crash (or a broken connection) may or may not have reached Slack: the message carries a marker
block id derived from the delivery key, and the next sender looks for it in the channel's history before sending
again. No duplicates, no gaps."""
from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import as_completed
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from jobs.runs import Settled

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5
RETRY_PAUSES = (1.0, 2.0, 4.0, 8.0, 16.0)  # between rounds over the deliveries still open
PROGRESS_EVERY = 5.0  # seconds between progress lines in the log
CHUNK = 10  # deliveries marked "sending" and settled in one transaction each (at most this many to look for after
#             a crash, per sender thread)


@dataclass(frozen=True)
class Posted:
    """Where Slack put a message."""

    channel: str
    ts: str


class SendFailed(Exception):
    """Slack did not take a message. `permanent`: retrying cannot help (channel_not_found ...). `unknown`: the
    request may have reached Slack (the connection broke), so look for it before sending again."""

    def __init__(self, error: str, permanent: bool, unknown: bool = False):
        super().__init__(error)
        self.error, self.permanent, self.unknown = error, permanent, unknown


class Interrupted(Exception):
    """The process is shutting down mid-run: the run is left for the next process to resume."""


class Sender(Protocol):
    """Posting and finding messages (Slack in production: bot/comms/delivery.py)."""

    def post(self, recipient: str, text: str, blocks: list[dict]) -> Posted:
        """Post to a channel id, or DM a user id."""

    def find(self, recipient: str, marker: str, since: datetime) -> Posted | None:
        """The message with block id `marker` sent to `recipient` since `since`, if any."""


@dataclass(frozen=True)
class FanOutReport:
    """How a run's deliveries ended."""

    sent: int = 0
    failed: int = 0
    skipped: int = 0
    open: int = 0

    @property
    def status(self) -> str:
        return "done" if not self.failed and not self.open else "failed"

    def line(self) -> str:
        parts = [f"{self.sent} sent", f"{self.failed} failed"]
        parts += [f"{self.skipped} skipped"] if self.skipped else []
        parts += [f"{self.open} still open"] if self.open else []
        return ", ".join(parts)


def delivery_marker(job_id: str, run_time: datetime, recipient: str) -> str:
    """The block id that identifies one delivery's message in Slack."""
    key = f"{job_id}|{run_time.isoformat()}|{recipient}".encode()
    return "rollout-" + hashlib.sha256(key).hexdigest()[:24]


def marked(blocks: Sequence[dict], marker: str) -> list[dict]:
    """The blocks with the first one carrying the delivery marker as its block id."""
    copies = [dict(block) for block in blocks]
    copies[0]["block_id"] = marker
    return copies


def fan_out(ctx, run, payload: dict, wanted: Callable[[str], bool] | None = None,
            started: set[int] = frozenset()) -> FanOutReport:
    """Send `payload` to every open delivery of `run` on the context's pool, in rounds until each is settled.
    `started`: deliveries this process has just marked as being sent (`RunLog.prepare`), so not sent before."""
    for pause in (0.0, *RETRY_PAUSES):
        deliveries = ctx.runs.open_deliveries(run.id)
        if not deliveries:
            break
        if ctx.stopping.wait(pause):
            raise Interrupted()
        chunks = [deliveries[i:i + CHUNK] for i in range(0, len(deliveries), CHUNK)]
        _wait_with_progress(run, [ctx.pool.submit(deliver, ctx, run, payload, chunk, wanted, started)
                                  for chunk in chunks], len(deliveries))
        started = frozenset()
    if ctx.stopping.is_set():
        raise Interrupted()
    counts = ctx.runs.counts([run.id]).get(run.id, {})
    return FanOutReport(counts.get("sent", 0), counts.get("failed", 0), counts.get("skipped", 0),
                        counts.get("pending", 0) + counts.get("sending", 0))


def deliver(ctx, run, payload: dict, deliveries: Sequence, wanted: Callable[[str], bool] | None,
            started: set[int] = frozenset()) -> None:
    """Settle a chunk of deliveries: those an earlier attempt may have sent are looked for first, the rest are
    marked "sending" together, sent one by one, and their outcomes recorded together."""
    if ctx.stopping.is_set():
        return  # left as they are for the next process
    outcomes, to_send = [], []
    for delivery in deliveries:
        marker = delivery_marker(run.job_id, run.run_time, delivery.recipient)
        fresh = delivery.id in started
        if delivery.status == "sending" and not fresh:
            try:
                found = ctx.sender.find(delivery.recipient, marker, since=delivery.updated_at)
            except Exception as exc:  # can't tell: neither resend (a duplicate) nor give up (a gap); look later
                log.warning("%s: could not check whether %s already has it: %s", run.job_id, delivery.recipient, exc)
                continue
            if found is not None:
                outcomes.append(Settled(delivery.id, "sent", found.channel, found.ts))
                continue
        if delivery.attempts >= MAX_ATTEMPTS and not fresh:
            error = f"gave up after {delivery.attempts} attempts: {delivery.error or 'no answer'}"
            outcomes.append(Settled(delivery.id, "failed", error=error))
        elif wanted is not None and not wanted(delivery.recipient):
            outcomes.append(Settled(delivery.id, "skipped"))
        else:
            to_send.append((delivery, marker))
    claimed = started | ctx.runs.start_sending([d.id for d, _ in to_send if d.id not in started], ctx.clock())
    for delivery, marker in to_send:
        if delivery.id in claimed:
            outcomes.append(Settled(delivery.id, "pending") if ctx.stopping.is_set() else
                            _send(ctx, payload, delivery, marker))
    ctx.runs.settle(outcomes, ctx.clock())


def _send(ctx, payload: dict, delivery, marker: str) -> Settled:
    try:
        posted = ctx.sender.post(delivery.recipient, payload["text"], marked(payload["blocks"], marker))
    except SendFailed as exc:
        status = "failed" if exc.permanent else "sending" if exc.unknown else "pending"
        return Settled(delivery.id, status, error=exc.error)
    return Settled(delivery.id, "sent", posted.channel, posted.ts)


def _wait_with_progress(run, futures, deliveries: int) -> None:
    """Wait for a round; deliveries whose sender raised stay open for the next round."""
    done, last = 0, time.monotonic()
    for future in as_completed(futures):
        if (exc := future.exception()) is not None:
            log.error("%s: sending a chunk failed unexpectedly; it will be retried", run.job_id, exc_info=exc)
        done += 1
        if time.monotonic() - last >= PROGRESS_EVERY:
            last = time.monotonic()
            log.info("%s run %s: %d of %d deliveries settled this round", run.job_id, run.run_time.isoformat(),
                     min(done * CHUNK, deliveries), deliveries)
