"""Send pacing for fan-out: at most N messages in any window across all channels, about one a second per channel,
and everyone waits when Slack answers 429 with Retry-After."""
from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

# Our window is a little longer than Slack's, so requests that leave together but arrive out of order (threads,
# loopback jitter) never put N+1 into one of Slack's windows.
WINDOW_MARGIN = 0.03
CHANNEL_INTERVAL = 1.0  # Slack: about one message per second per channel
_PRUNE_AT = 10_000


class SendPacer:
    """A sliding-window rate limit shared by every sending thread of a process."""

    def __init__(self, per_second: float, channel_interval: float = CHANNEL_INTERVAL,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        if per_second <= 0:
            raise ValueError("the send rate must be a positive number of messages per second")
        self.capacity = max(1, math.ceil(per_second))
        self.window = self.capacity / per_second + WINDOW_MARGIN
        self.channel_interval = channel_interval
        self._clock, self._sleep = clock, sleep
        self._sent: deque[float] = deque()
        self._channel_next: dict[str, float] = {}
        self._paused_until = 0.0
        self._lock = threading.Lock()

    def acquire(self, channel: str | None = None) -> float:
        """Wait for a slot to send (to `channel`); returns how long this call waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                ready = self._ready_at(now, channel)
                if ready <= now:
                    self._take(now, channel)
                    return waited
            self._sleep(ready - now)
            waited += ready - now

    def pause(self, seconds: float) -> None:
        """Nobody sends for `seconds` (Slack said Retry-After)."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds)

    def _ready_at(self, now: float, channel: str | None) -> float:
        while self._sent and self._sent[0] <= now - self.window:
            self._sent.popleft()
        ready = max(now, self._paused_until)
        if len(self._sent) >= self.capacity:
            ready = max(ready, self._sent[0] + self.window)
        if channel is not None:
            ready = max(ready, self._channel_next.get(channel, 0.0))
        return ready

    def _take(self, now: float, channel: str | None) -> None:
        self._sent.append(now)
        if channel is None:
            return
        if len(self._channel_next) >= _PRUNE_AT:
            self._channel_next = {c: t for c, t in self._channel_next.items() if t > now}
        self._channel_next[channel] = now + self.channel_interval
