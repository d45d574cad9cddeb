"""The Slack edge's workers: two bounded pools for the work done after a request is acked, so that Slack's
3-second rule never depends on retrieval speed, and the HTTP edge can hold short work back until its acks are sent."""
from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

log = logging.getLogger(__name__)

QUICK_THREADS = 8  # claims, 👀 reactions, notices and clicks: short database and Slack calls
# Work deferred until the acks under way have left waits at most this long under unbroken traffic: 40 questions
# arriving together are acked in ~25 ms when nothing else runs (BENCHMARKS.md, "Slack edge").
MAX_AFTER_ACKS_SECONDS = 0.05


class Workers:
    """Two bounded pools for the work done after the ack, counted so that shutdown (and tests) can wait for it.

    Quick work (screen a question, show 👀, record a click) never queues behind slow retrieval, so every employee
    sees a sign of work at once even when many ask together; `slow` takes the answers, ROLLOUT_WORKERS at a time.
    Work handed on `after_acks` waits until the HTTP edge has sent every ack it owes (`acking`).
    """

    def __init__(self, answering: int, quick: int = QUICK_THREADS, after_acks_limit: float = MAX_AFTER_ACKS_SECONDS):
        self._quick = ThreadPoolExecutor(quick, thread_name_prefix="rollout-quick")
        self._slow = ThreadPoolExecutor(answering, thread_name_prefix="rollout-answer")
        self._pending = 0
        self._closed = False
        self._changed = threading.Condition()
        self._acks_owed = 0
        self._after_acks: list[tuple] = []  # (work, args) waiting for the acks owed to leave
        self._after_acks_since = 0.0  # monotonic time the oldest of them was deferred
        self._after_acks_limit = after_acks_limit

    @contextmanager
    def acking(self) -> Iterator[None]:
        """Around a request, from its arrival to its response sent: deferred work waits while any is open."""
        with self._changed:
            self._acks_owed += 1
        try:
            yield
        finally:
            with self._changed:
                self._acks_owed -= 1
            self._release_after_acks()

    def after_acks(self, work, *args) -> None:
        """Run short work once no ack is owed (at once outside a request), or `after_acks_limit` seconds after it
        was deferred when acks stay owed (requests keep arriving, or one listener is slow)."""
        with self._changed:
            if self._acks_owed and not self._closed:
                if not self._after_acks:
                    self._after_acks_since = time.monotonic()
                    overdue = threading.Timer(self._after_acks_limit, self._release_after_acks, (True,))
                    overdue.daemon = True  # an ack held up (a slow listener) holds up no one else's work
                    overdue.start()
                self._after_acks.append((work, args))
                self._pending += 1  # counted now: wait_idle and close see it
                return
        self.quick(work, *args)

    def quick(self, work, *args) -> None:
        """Run short work soon; failures are logged with a reference, never lost silently."""
        self._submit(self._quick, work, args)

    def slow(self, work, *args) -> None:
        """Run an answer when a worker is free."""
        self._submit(self._slow, work, args)

    @property
    def pending(self) -> int:
        """How many pieces of work were accepted and are not finished yet."""
        with self._changed:
            return self._pending

    def wait_idle(self, timeout: float) -> bool:
        """Block until every accepted piece of work has finished; False if `timeout` seconds passed first."""
        with self._changed:
            return self._changed.wait_for(lambda: self._pending == 0, timeout)

    def close(self, timeout: float | None = None) -> bool:
        """Finish what was accepted (answers owed to people), within `timeout` seconds if given, then stop; quick
        work may still hand on slow work. False if work was left unfinished (it is abandoned here: whoever owns it
        hands it back). Closing again does nothing."""
        with self._changed:
            if self._closed:
                return self._pending == 0
            self._closed = True
        self._release_after_acks(force=True)
        if self.pending:
            log.warning("finishing %d pieces of work already under way before stopping", self.pending)
        finished = True if timeout is None else self.wait_idle(timeout)
        self._quick.shutdown(wait=finished, cancel_futures=not finished)
        self._slow.shutdown(wait=finished, cancel_futures=not finished)
        return finished

    def _release_after_acks(self, force: bool = False) -> None:
        with self._changed:
            due = force or not self._acks_owed or time.monotonic() - self._after_acks_since >= self._after_acks_limit
            if not (due and self._after_acks):
                return
            released, self._after_acks = self._after_acks, []
        for work, args in released:
            self._submit(self._quick, work, args, counted=True)

    def _submit(self, pool: ThreadPoolExecutor, work, args: tuple, counted: bool = False) -> None:
        if not counted:
            with self._changed:
                self._pending += 1
        try:
            pool.submit(self._run, work, args)
        except RuntimeError:  # shut down: what was not started is handed back by its owner (bot.answering.intake)
            log.info("not starting %s: stopping", getattr(work, "__name__", work))
            self._done()

    def _done(self) -> None:
        with self._changed:
            self._pending -= 1
            self._changed.notify_all()

    def _run(self, work, args: tuple) -> None:
        try:
            work(*args)
        except Exception:
            log.exception("background work %s failed (reference %s)", getattr(work, "__name__", work),
                          uuid.uuid4().hex[:8])
        finally:
            self._done()
