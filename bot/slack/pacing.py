"""Send pacing for fan-out: at most N messages in any window across all channels, about one a second per channel,
and everyone waits when Slack answers 429 with Retry-After."""
from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

CHANNEL_INTERVAL = 1.0  # Slack: about one message per second per channel
IN_FLIGHT_POLL = 0.005  # how often a sender waiting on requests still in flight looks again
_PRUNE_AT = 10_000


class Slot:
    """One request's place in the window: when it left, and when its answer came back (None: in flight)."""

    __slots__ = ("sent", "answered")

    def __init__(self, sent: float):
        self.sent, self.answered = sent, None


class SendPacer:
    """A sliding-window rate limit shared by every sending thread of a process.

    Slack counts a request when it arrives, which is some time after it leaves and before its answer is back. So a
    request stops counting against our window only a full window after its answer came back: however late requests
    arrive (busy threads, a slow network), Slack never sees more than N in one window from us."""

    def __init__(self, per_second: float, channel_interval: float = CHANNEL_INTERVAL,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        if per_second <= 0:
            raise ValueError("the send rate must be a positive number of messages per second")
        self.capacity = max(1, math.ceil(per_second))
        self.window = self.capacity / per_second
        self.channel_interval = channel_interval
        self._clock, self._sleep = clock, sleep
        self._slots: list[Slot] = []
        self._channel_next: dict[str, float] = {}
        self._paused_until = 0.0
        self._lock = threading.Lock()

    def acquire(self, channel: str | None = None) -> Slot:
        """Wait for room to send (to `channel`); call `done(slot)` when the answer is back."""
        while True:
            with self._lock:
                now = self._clock()
                ready = self._ready_at(now, channel)
                if ready <= now:
                    return self._take(now, channel)
            self._sleep(ready - now)

    def done(self, slot: Slot) -> None:
        """The request's answer is back (or it failed): from now on, a window later, it stops counting."""
        with self._lock:
            slot.answered = self._clock()

    def pause(self, seconds: float) -> None:
        """Nobody sends for `seconds` (Slack said Retry-After)."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds)

    def _ready_at(self, now: float, channel: str | None) -> float:
        self._slots = [s for s in self._slots if s.answered is None or s.answered > now - self.window]
        ready = max(now, self._paused_until)
        if len(self._slots) >= self.capacity:
            answered = sorted(s.answered for s in self._slots if s.answered is not None)
            needed = len(self._slots) - self.capacity  # this many must leave the window first
            ready = max(ready, answered[needed] + self.window if needed < len(answered) else now + IN_FLIGHT_POLL)
        if channel is not None:
            ready = max(ready, self._channel_next.get(channel, 0.0))
        return ready

    def _take(self, now: float, channel: str | None) -> Slot:
        slot = Slot(now)
        self._slots.append(slot)
        if channel is not None:
            if len(self._channel_next) >= _PRUNE_AT:
                self._channel_next = {c: t for c, t in self._channel_next.items() if t > now}
            self._channel_next[channel] = now + self.channel_interval
        return slot
