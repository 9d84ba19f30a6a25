"""A proactive rate limiter: pace requests *before* the API has to say 429.

singer-sdk retries reactively (backoff after a 429/5xx). This limiter spaces requests so a
configured budget (requests per second and/or per minute) is never exceeded, and when a
server does answer with ``Retry-After`` it holds every later request until that moment.
One limiter is shared by all streams of a tap (the budget is per API, not per stream).
"""

from __future__ import annotations

import collections
import email.utils
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

#: never sleep longer than this for one Retry-After (a broken header must not hang a tap)
MAX_RETRY_AFTER_S = 600.0


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


@dataclass
class RateLimiter:
    """Sliding-window limiter over one or two windows (1 s and 60 s)."""

    per_second: float | None = None
    per_minute: float | None = None
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _sent: collections.deque[float] = field(default_factory=collections.deque)
    _hold_until: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _windows(self) -> list[tuple[float, float]]:
        windows = []
        if self.per_second:
            windows.append((1.0, self.per_second))
        if self.per_minute:
            windows.append((60.0, self.per_minute))
        return windows

    def _delay(self, now: float) -> float:
        delay = max(0.0, self._hold_until - now)
        for width, budget in self._windows():
            in_window = [t for t in self._sent if t > now - width]
            if len(in_window) >= budget:
                # wait until the oldest request that keeps us at the budget leaves the window
                oldest = in_window[len(in_window) - int(budget)]
                delay = max(delay, oldest + width - now)
        return delay

    def acquire(self) -> float:
        """Block until one more request fits the budget; returns the seconds waited."""
        waited = 0.0
        with self._lock:
            while True:
                now = self.clock()
                delay = self._delay(now)
                if delay <= 0:
                    break
                self.sleep(delay)
                waited += delay
            self._sent.append(now)
            horizon = now - 60.0
            while self._sent and self._sent[0] <= horizon:
                self._sent.popleft()
        return waited

    def hold(self, seconds: float) -> None:
        """No request before ``seconds`` from now (a server's ``Retry-After``)."""
        with self._lock:
            self._hold_until = max(self._hold_until, self.clock() + seconds)

    def honour_retry_after(self, header: str | None) -> float | None:
        seconds = parse_retry_after(header)
        if seconds is not None:
            self.hold(seconds)
        return seconds
