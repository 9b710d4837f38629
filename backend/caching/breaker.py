"""A per-process circuit breaker in front of Redis.

While Redis answers, every call goes through. After a failure (a refused connection or a
socket timeout) the breaker opens: for ``cooldown`` seconds calls are not attempted at all, so
requests fall back to the database at once instead of each waiting out a socket timeout. Then
one call is let through (half-open); success closes the breaker, failure opens it again.

A probe whose call raises something other than a Redis failure (django-redis's ``incr`` of a
missing key raises ``ValueError`` after Redis answered; a value that does not unpickle; a worker's
soft time limit) gives no verdict on Redis: the guard (``guard.py``) calls ``release_probe()`` and
the next caller probes at once. Seen in CI: a rate limit's ``incr`` at the start of a new window
took the probe, raised ``ValueError``, and the circuit stayed open for another full cooldown. A
probe that never reports at all (its caller vanished) holds the half-open slot for one more
``cooldown`` only; then the next caller probes. Without that expiry one such exception would keep
the breaker refusing every call for the rest of the process's life.

What runs when the breaker closes is registered on it (``on_recovery``): the app registers the
outage replay on the Redis breaker at start-up (``CachingConfig.ready``), so this module knows
nothing of what recovery means.
"""

import logging
import threading
import time
from collections.abc import Callable

from django.conf import settings

logger = logging.getLogger(__name__)


class CircuitBreaker:
    def __init__(self, name: str, cooldown: float = 2.0) -> None:
        self.name = name
        self.cooldown = cooldown
        self._opened_at: float | None = None
        self._probe_started: float | None = None  # set while one caller probes (half-open)
        self._lock = threading.Lock()
        self._on_recovery: list[Callable[[], None]] = []

    @property
    def is_open(self) -> bool:
        return self._opened_at is not None

    def allow(self) -> bool:
        """Whether a call may be attempted now."""
        if self._opened_at is None:
            return True
        with self._lock:
            if self._opened_at is None:
                return True
            now = time.monotonic()
            probe_due = self._probe_started is None and now - self._opened_at >= self.cooldown
            probe_abandoned = self._probe_started is not None and now - self._probe_started >= self.cooldown
            if probe_due or probe_abandoned:
                self._probe_started = now  # half-open: one caller probes
                return True
            return False

    def record_failure(self, exc: BaseException) -> None:
        with self._lock:
            was_closed = self._opened_at is None
            self._opened_at = time.monotonic()
            self._probe_started = None
        if was_closed:
            logger.warning("cache circuit %s opened: %s", self.name, exc)

    def record_success(self) -> bool:
        """Close the breaker; True if it was open (its recovery callbacks have then run)."""
        if self._opened_at is None:
            return False
        with self._lock:
            recovered = self._opened_at is not None
            self._opened_at = None
            self._probe_started = None
        if recovered:
            logger.warning("cache circuit %s closed: Redis answers again", self.name)
            self.run_recovery()
        return recovered

    def release_probe(self) -> None:
        """The probing call ended without a verdict (it raised something that is not a Redis
        failure): free the half-open slot so that the next caller probes now, not a cooldown later."""
        with self._lock:
            self._probe_started = None

    def on_recovery(self, callback: Callable[[], None]) -> None:
        """Run ``callback()`` each time the breaker closes after being open (once per registration)."""
        if callback not in self._on_recovery:
            self._on_recovery.append(callback)

    def run_recovery(self) -> None:
        """Run the recovery callbacks now: on closing, and when a process knows it has something to
        replay although its breaker is closed (``outage``'s checking thread)."""
        for callback in self._on_recovery:
            callback()

    def reset(self) -> None:
        with self._lock:
            self._opened_at = None
            self._probe_started = None


REDIS = "redis"  # the breaker in front of the cache's Redis (the hot store and Django's cache API share it)
BROKER = "broker"  # the breaker in front of the Celery broker, for enqueueing rebuilds

_breakers: dict[str, CircuitBreaker] = {}
_create_lock = threading.Lock()


def breaker_for(name: str) -> CircuitBreaker:
    """The process's breaker called ``name``, created with ``CACHE_BREAKER_COOLDOWN`` on first use."""
    if name not in _breakers:
        with _create_lock:
            if name not in _breakers:
                _breakers[name] = CircuitBreaker(name, cooldown=settings.CACHE_BREAKER_COOLDOWN)
    return _breakers[name]
