"""Operator data kept in the cache's Redis: request counters and beat's heartbeat.

Shared by every process (gunicorn workers, Celery worker, beat), so ``/metrics`` is correct
whichever process answers the scrape. Every call goes through the cache's circuit breaker
(``backend.caching.breaker``): while it is open nothing is sent, so a request never waits on a
dead Redis for its metrics. Without Redis (the embedded default: one process, the in-process
cache) the same data lives in this process's memory.

Keys (raw Redis keys, beside the hot caches' ``hc:*``):

- ``ops:http`` hash: ``{route}|{method}|{status}|{le}`` -> requests whose duration fell in that
  histogram bucket (not cumulative: the collector adds them up), ``{route}|{method}|{status}|sum_us``
  -> their total duration in microseconds.
- ``ops:beat:last_publish`` -> the Unix time (seconds, float) at which beat last sent a task.

The cache's Redis may evict these under memory pressure (``allkeys-lru``); Prometheus treats a
counter that goes back to zero as a reset, so rates stay right.
"""

import threading
from collections import Counter
from collections.abc import Callable

from django.core.cache import caches

from backend.caching.backends import ResilientRedisCache
from backend.caching.breaker import breaker_for
from backend.caching.guard import guarded_call

HTTP_KEY = "ops:http"
BEAT_KEY = "ops:beat:last_publish"


def uses_redis() -> bool:
    """Whether the cache is Redis. Makes no connection (building a Redis Cluster client connects to it)."""
    return isinstance(caches["default"], ResilientRedisCache)


def redis_client():
    """The cache's Redis client (django-redis's connection pool), or None when the cache is not Redis.
    On a Redis Cluster building it connects: call it inside ``call()``'s guard, never on its own."""
    cache = caches["default"]
    if isinstance(cache, ResilientRedisCache):
        return cache.client.get_client(write=True)
    return None


def call(operation: Callable, default):
    """``operation(client)`` through the cache's guard (``backend.caching.guard``); ``default`` when Redis
    fails or is not asked. These keys carry no invalidation and serve no client, so neither outage
    rule applies (``lost_write``/``serves``). Request counts do not come this way: they ride the hot
    store's pending counters (backend/ops/request_metrics.py)."""
    return guarded_call(breaker_for("redis"), lambda: operation(redis_client()), lambda: default, write=True)


class LocalData:
    """The embedded default's copy: the hash and the heartbeat in this process's memory."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.http: Counter = Counter()
        self.beat: float | None = None

    def clear(self) -> None:
        with self.lock:
            self.http.clear()
            self.beat = None


local = LocalData()
