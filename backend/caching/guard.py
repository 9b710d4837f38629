"""One call to Redis through the circuit breaker: the rule shared by the cache backend and the hot store.

Written by hand because no library joins the three things a call must do here: skip Redis while the
breaker is open (``breaker.py``), record a write that carried an invalidation when it is lost
(``outage.record_lost_write``), and not serve a read while a lost invalidation is not yet replayed
(``outage.pending()``; docs/caching.md, "Failures"). ``guarded_call`` runs one operation with all
three; ``Guard`` is the same rule in steps, for callers that cannot hand over a single callable
(django-redis's ``iter_keys``, a generator that calls Redis while it is iterated).
"""

import socket
from collections.abc import Callable
from typing import TypeVar

from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import LockError, RedisClusterException, RedisError

from backend.caching import outage
from backend.caching.breaker import CircuitBreaker

# What "Redis failed" means: refused, reset, timed out, or an error reply (out of memory, read-only);
# on a cluster, also redis-py's "no node reachable" (RedisClusterException is not a RedisError).
REDIS_FAILURES = (RedisError, RedisClusterException, ConnectionInterrupted, OSError, socket.timeout)

T = TypeVar("T")


class Guard:
    """The steps of one guarded call. ``begin()`` once; then ``failed(exc)``, or ``answered()`` and
    ``trusted()``.

    ``serves``: what the call reads may reach clients, so it is not asked for while an invalidation
    is pending; the breaker's half-open probe is still sent (a read is how most processes find Redis
    back, and its success runs the replay), and its answer is dropped unless that replay cleared the
    pending state. ``lost_write``: the call may carry an invalidation (a generation bump, a cachalot
    table invalidation); when it fails or is skipped, ``outage.record_lost_write(alias, ...)``
    records it for replay, with ``lost_write`` as the description.
    """

    def __init__(
        self, breaker: CircuitBreaker, *, serves: bool = False, lost_write: str | None = None, alias: str = "default"
    ) -> None:
        self.breaker = breaker
        self.serves = serves
        self.lost_write = lost_write
        self.alias = alias
        self.probing = False

    def begin(self) -> bool:
        """Whether to call Redis now (asks the breaker's ``allow()`` once)."""
        if not self.breaker.allow():
            self._lost("skipped: circuit open")
            return False
        self.probing = self.breaker.is_open
        return self.probing or not (self.serves and outage.pending())

    def answered(self) -> bool:
        """Redis answered: close the breaker. True when that ran the recovery (a probe after an outage)."""
        return self.breaker.record_success()

    def trusted(self) -> bool:
        """Whether the answer may be used: not when a probe found Redis back but the replay did not happen."""
        return not (self.serves and self.probing and outage.pending())

    def failed(self, exc: BaseException) -> None:
        self.breaker.record_failure(exc)
        self._lost(f"failed: {exc}")

    def no_verdict(self) -> None:
        """The call raised something that is not a Redis failure (django-redis's ``incr`` of a missing
        key, a value that does not unpickle, a soft time limit): a probe frees the half-open slot, so
        the next caller probes now rather than a cooldown later (``breaker.release_probe``)."""
        if self.probing:
            self.breaker.release_probe()

    def _lost(self, reason: str) -> None:
        if self.lost_write is not None:
            outage.record_lost_write(self.alias, f"{self.lost_write} {reason}")


def guarded_call(
    breaker: CircuitBreaker,
    operation: Callable[[], T],
    fallback: Callable[[], T],
    *,
    write: bool,
    serves: bool = False,
    lost_write: str | None = None,
    alias: str = "default",
) -> T:
    """``operation()`` through ``breaker``; ``fallback()`` when Redis fails, is skipped, or is distrusted.

    ``write``: the operation changes Redis. A read that was the probe which closed the breaker and ran
    the recovery (epoch bump, cachalot invalidation) is run again, since what it read before the
    replay may be stale; a write is not (it was applied, and a second ``INCR`` or ``SET NX`` would
    answer differently). ``serves``, ``lost_write``, ``alias``: as ``Guard``'s. redis-py's ``LockError``
    (a lock not owned or not acquired) is Redis's own answer: the breaker closes and it propagates.
    Anything else that is not a Redis failure propagates and gives no verdict on Redis: a probe
    frees its half-open slot for the next caller (``Guard.no_verdict``).
    """
    guard = Guard(breaker, serves=serves, lost_write=lost_write, alias=alias)
    if not guard.begin():
        return fallback()
    try:
        result = operation()
        if guard.answered() and not write:
            result = operation()
    except LockError:
        guard.answered()
        raise
    except REDIS_FAILURES as exc:
        guard.failed(exc)
        return fallback()
    except BaseException:
        guard.no_verdict()
        raise
    return result if guard.trusted() else fallback()
