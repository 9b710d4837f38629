"""django-redis with a circuit breaker, for every user of Django's cache API (cachalot included).

django-redis's own ``IGNORE_EXCEPTIONS`` turns a Redis failure into a cache miss, but every call
still waits out its socket timeout, and a failed write (a cachalot table invalidation, say) is
forgotten. This backend keeps the fail-open behaviour and adds two things no library does for
us: a per-process circuit breaker (calls are skipped while Redis is known to be down) and a
durable record of lost writes (``backend.caching.outage``), replayed when Redis is back.
"""

import functools
import socket

from django_redis.cache import RedisCache
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import RedisError

from backend.caching import outage
from backend.caching.breaker import breaker_for
from backend.common.server_timing import count_cache_round_trip

REDIS_FAILURES = (RedisError, ConnectionInterrupted, OSError, socket.timeout)

_READS = {"get": None, "get_many": {}, "has_key": False, "ttl": None, "keys": []}
_WRITES = {
    "set": False,
    "set_many": [],
    "add": False,
    "delete": False,
    "delete_many": 0,
    "incr": None,
    "decr": None,
    "touch": False,
    "clear": None,
    "delete_pattern": 0,
    "expire": False,
}


def _guarded(name: str, default, lost_if_failed: bool):
    base = getattr(RedisCache, name)

    @functools.wraps(base)
    def method(self, *args, **kwargs):
        breaker = breaker_for(self._breaker_name)
        if not breaker.allow():
            if lost_if_failed:
                outage.record_lost_write(self._breaker_name, f"{name} skipped: circuit open")
            return default
        probing = breaker.is_open
        try:
            count_cache_round_trip()  # one command or pipeline each (keys/delete_pattern scan: not on requests)
            result = base(self, *args, **kwargs)
            if probing and breaker.record_success():
                count_cache_round_trip()
                result = base(self, *args, **kwargs)  # read again after the replay of lost writes
        except REDIS_FAILURES as exc:
            breaker.record_failure(exc)
            if lost_if_failed:
                outage.record_lost_write(self._breaker_name, f"{name} failed: {exc}")
            return default
        breaker.record_success()
        return result

    return method


class ResilientRedisCache(RedisCache):
    """Configure with ``IGNORE_EXCEPTIONS: False``: this class decides what a failure means."""

    @property
    def _breaker_name(self) -> str:
        return "redis"


for _name, _default in _READS.items():
    setattr(ResilientRedisCache, _name, _guarded(_name, _default, lost_if_failed=False))
for _name, _default in _WRITES.items():
    setattr(ResilientRedisCache, _name, _guarded(_name, _default, lost_if_failed=True))
