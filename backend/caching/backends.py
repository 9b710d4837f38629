"""django-redis with a circuit breaker, for every user of Django's cache API (cachalot included).

django-redis's own ``IGNORE_EXCEPTIONS`` turns a Redis failure into a cache miss, but every call
still waits out its socket timeout, and a failed write (a cachalot table invalidation, say) is
forgotten. This backend keeps the fail-open behaviour and adds what no library does for us: a
per-process circuit breaker (calls are skipped while Redis is known to be down), a durable record
of lost writes (``backend.caching.outage``), replayed when Redis is back (``backend.caching.recovery``),
and no reads served while an invalidation is lost and not yet replayed (``outage.pending()``:
docs/caching.md, "Failures"). Each call goes through ``guard.guarded_call``, the hot store's guard too.

The contract: whatever Redis does (refuses connections, never answers, refuses writes when out
of memory or read-only, or the circuit is open), every public method of django-redis's
``RedisCache`` and Django's ``BaseCache`` answers as it documents for an *empty cache* and a
write that was *not applied*: ``get`` returns the caller's ``default``, ``add`` and ``set`` return
False, ``set_many`` returns the keys that were not set, ``incr``/``decr``/``incr_version`` raise
``ValueError`` (Django's "key not found"), ``ttl`` is 0 (django-redis's "no such key"), a lock is
not acquired. ``CONTRACTS`` holds one row per Redis-calling method (``lock`` and ``close`` are
below); ``tests/reliability/test_cache_contract.py`` checks every method against stopped, paused,
paused-for-writes, out-of-memory and read-only redis-servers and an open circuit, and fails when
django-redis grows a method without a row. The async ``a*`` methods are Django's, built on these
(``aset_many`` is overridden: Django's generic one reports every key stored).
"""

import contextlib
import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from asgiref.sync import sync_to_async
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django_redis.cache import RedisCache
from django_redis.client import DefaultClient
from redis.exceptions import LockError

from backend.caching import outage
from backend.caching.breaker import REDIS, breaker_for
from backend.caching.cluster import redis_py_faults_as_failures
from backend.caching.guard import REDIS_FAILURES, Guard, guarded_call
from backend.common import cache_writes
from backend.observability.meter import count_cache_round_trip


def _not_found(call: dict) -> Any:
    raise ValueError(f"Key {call['key']!r} not found (the cache is unavailable)")


def _popped(empty: Callable[[], Any]) -> Callable[[dict], Any]:
    """spop/zpopmax/zpopmin: one member (None when there is none) or, given a count, a collection."""
    return lambda call: None if call.get("count") is None else empty()


@dataclass(frozen=True)
class Contract:
    """What a method answers when Redis fails: ``fallback(arguments by name)`` (or what it raises).

    ``write``: the call may change the cache (an invalidation, for all we know), so its failure is
    recorded for replay; a read is not attempted while a lost invalidation is pending.
    """

    fallback: Callable[[dict], Any]
    write: bool


def _read(value: Any) -> Contract:
    return Contract(value if callable(value) else (lambda call: value), write=False)


def _write(value: Any) -> Contract:
    return Contract(value if callable(value) else (lambda call: value), write=True)


# Mutable answers are built per call (lambda), so a caller that changes one changes only its own.
CONTRACTS: dict[str, Contract] = {
    # Django's BaseCache API, as django-redis implements it
    "get": _read(lambda call: call["default"]),
    "get_many": _read(lambda call: {}),
    "has_key": _read(False),
    "ttl": _read(0),
    "pttl": _read(0),
    "keys": _read(lambda call: []),
    "iter_keys": _read(lambda call: iter(())),
    "set": _write(False),
    "add": _write(False),
    "set_many": _write(lambda call: list(call["data"])),  # Django: the keys that failed insertion
    "touch": _write(False),
    "delete": _write(False),
    "delete_many": _write(0),
    "delete_pattern": _write(0),
    "clear": _write(None),
    "incr": _write(_not_found),
    "decr": _write(_not_found),
    "incr_version": _write(_not_found),
    "expire": _write(False),
    "expire_at": _write(False),
    "pexpire": _write(False),
    "pexpire_at": _write(False),
    "persist": _write(False),
    # django-redis's set and hash commands
    "scard": _read(0),
    "sdiff": _read(lambda call: set()),
    "sinter": _read(lambda call: set()),
    "sunion": _read(lambda call: set()),
    "smembers": _read(lambda call: set()),
    "sismember": _read(False),
    "smismember": _read(lambda call: [False] * len(call["members"])),
    "srandmember": _read(lambda call: None if call.get("count") is None else []),
    "sscan": _read(lambda call: set()),
    "sscan_iter": _read(lambda call: iter(())),
    "hlen": _read(0),
    "hkeys": _read(lambda call: []),
    "hexists": _read(False),
    "sadd": _write(0),
    "srem": _write(0),
    "smove": _write(False),
    "spop": _write(_popped(set)),
    "sdiffstore": _write(0),
    "sinterstore": _write(0),
    "sunionstore": _write(0),
    "hset": _write(0),
    "hdel": _write(0),
    # django-redis's sorted-set commands
    "zcard": _read(0),
    "zcount": _read(0),
    "zrange": _read(lambda call: []),
    "zrevrange": _read(lambda call: []),
    "zrangebyscore": _read(lambda call: []),
    "zrevrangebyscore": _read(lambda call: []),
    "zrank": _read(None),
    "zscore": _read(None),
    "zadd": _write(lambda call: None if call["incr"] else 0),  # with incr: the new score, None if not applied
    "zincrby": _write(None),  # the new score; None: not applied
    "zrem": _write(0),
    "zremrangebyscore": _write(0),
    "zpopmax": _write(_popped(list)),
    "zpopmin": _write(_popped(list)),
}


def _arguments(name: str, args: tuple, kwargs: dict) -> dict:
    signature = inspect.signature(getattr(DefaultClient, name))
    bound = signature.bind(None, *args, **kwargs)
    bound.apply_defaults()
    return bound.arguments


def _guarded(name: str, contract: Contract):
    base = getattr(RedisCache, name)

    @functools.wraps(base)
    def method(self, *args, **kwargs):
        def attempt():
            count_cache_round_trip()  # one command or pipeline each (keys/delete_pattern scan: not on requests)
            with redis_py_faults_as_failures():
                return base(self, *args, **kwargs)

        return guarded_call(
            breaker_for(self._breaker_name),
            attempt,
            lambda: contract.fallback(_arguments(name, args, kwargs)),
            write=contract.write,
            serves=not contract.write,
            # A write is recorded as a lost invalidation unless the caller says it is not one
            # (a throttle count, cachalot storing a query's result: backend/common/cache_writes.py).
            lost_write=name if contract.write and not cache_writes.in_effect() else None,
            alias=self._breaker_name,
        )

    return method


def _guarded_iterator(name: str, contract: Contract):
    """iter_keys and sscan_iter return generators: Redis is called while the caller iterates, so the
    guard's steps are taken one by one (``guard.Guard``) instead of through ``guarded_call``."""
    base = getattr(RedisCache, name)

    @functools.wraps(base)
    def method(self, *args, **kwargs):
        guard = Guard(
            breaker_for(self._breaker_name),
            serves=not contract.write,
            lost_write=name if contract.write else None,
            alias=self._breaker_name,
        )
        if not guard.begin():
            return
        items = base(self, *args, **kwargs)
        try:
            if guard.probing:  # the whole answer first: it is dropped if the replay does not happen
                items = list(items)
                guard.answered()
                if not guard.trusted():
                    return
            yield from items
        except REDIS_FAILURES as exc:
            guard.failed(exc)  # what was yielded stands; the rest is as if the cache were empty
            return
        except BaseException:
            guard.no_verdict()
            raise
        guard.answered()

    return method


class ResilientLock:
    """redis-py's ``Lock`` (as ``cache.lock()`` returns it) for which a Redis failure means "not held".

    ``acquire`` returns False (``with cache.lock(...)`` raises ``LockError``, as redis-py does when
    a lock is not acquired), ``locked``/``owned`` are False, ``release`` lets the lock expire by its
    timeout, ``extend``/``reacquire`` raise ``LockError`` (redis-py's "lock not owned").
    """

    def __init__(self, lock, cache: "ResilientRedisCache") -> None:
        self._lock = lock
        self._cache = cache

    def _call(self, name: str, fallback: Callable[[], Any], *args, **kwargs):
        # A lock is not an invalidation: its loss is not recorded, and nothing it answers is served.
        return guarded_call(
            breaker_for(self._cache._breaker_name),
            lambda: getattr(self._lock, name)(*args, **kwargs),
            fallback,
            write=name not in ("locked", "owned"),
        )

    @staticmethod
    def _not_owned() -> Any:
        raise LockError("Cannot extend or reacquire a lock: the cache is unavailable")

    def acquire(self, *args, **kwargs) -> bool:
        return self._call("acquire", lambda: False, *args, **kwargs)

    def locked(self) -> bool:
        return self._call("locked", lambda: False)

    def owned(self) -> bool:
        return self._call("owned", lambda: False)

    def release(self) -> None:
        self._call("release", lambda: None)

    def extend(self, *args, **kwargs) -> bool:
        return self._call("extend", self._not_owned, *args, **kwargs)

    def reacquire(self) -> bool:
        return self._call("reacquire", self._not_owned)

    def __enter__(self) -> "ResilientLock":
        if self.acquire():
            return self
        raise LockError("Unable to acquire lock within the time specified")

    def __exit__(self, exc_type, exc_value, traceback) -> None:
        self.release()


class ResilientRedisCache(RedisCache):
    """Configure with ``IGNORE_EXCEPTIONS: False``: this class decides what a failure means."""

    @property
    def _breaker_name(self) -> str:
        return REDIS

    def trusted(self) -> bool:
        """Whether an empty answer from this cache means "no such key": not while the breaker is open
        (the call was skipped or failed) nor while an invalidation is lost and not replayed (reads are
        not served). For callers to whom a missing key is permission, not a miss to rebuild
        (``backend.common.db_routing``: no write marker, so the replica may be read)."""
        return not breaker_for(self._breaker_name).is_open and not outage.pending()

    def lock(self, *args, **kwargs) -> ResilientLock:
        return ResilientLock(super().lock(*args, **kwargs), self)  # builds the lock: no Redis call

    async def aset_many(self, data: dict, timeout=DEFAULT_TIMEOUT, version=None) -> list:
        """As ``set_many``: the keys that failed (BaseCache's generic ``aset_many`` always says none)."""
        return await sync_to_async(self.set_many, thread_sensitive=True)(data, timeout, version)

    def close(self, **kwargs) -> None:
        # Dropping connections to a Redis that is gone: nothing left to do.
        with contextlib.suppress(*REDIS_FAILURES):
            super().close(**kwargs)


for _name, _contract in CONTRACTS.items():
    _make = _guarded_iterator if _name in ("iter_keys", "sscan_iter") else _guarded
    setattr(ResilientRedisCache, _name, _make(_name, _contract))
