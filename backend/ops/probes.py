"""Readiness probes: one real round trip to each service a request or a write depends on.

Each probe raises on failure. They bypass the cache's circuit breaker on purpose: the breaker
fails fast for requests (which then fall back to the database), but readiness must report what
Redis does now, not what it did during the last cooldown.
"""

import secrets

from django.core.cache import caches
from django.db import connections

from backend.caching.backends import ResilientRedisCache
from config.celery_app import app as celery_app


def database() -> None:
    """``SELECT 1`` on the default database.

    A persistent connection that died was already replaced when the request started
    (``CONN_HEALTH_CHECKS``), so this answers for the database, not for a stale socket.
    """
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def cache() -> None:
    """Write a value and read it back: one pipelined round trip to Redis (or the in-process cache)."""
    nonce = secrets.token_hex(8)
    key = f"ops:readyz:{nonce}"  # one key per probe: concurrent probes cannot overwrite each other
    backend = caches["default"]
    if isinstance(backend, ResilientRedisCache):
        # The raw client, not the cache API: its methods go through the circuit breaker.
        client = backend.client.get_client(write=True)
        pipe = client.pipeline(transaction=False)
        pipe.set(key, nonce, px=5_000)
        pipe.get(key)
        pipe.delete(key)
        _, stored, _ = pipe.execute()
        stored = stored.decode() if stored is not None else None
    else:
        backend.set(key, nonce, 5)
        stored = backend.get(key)
        backend.delete(key)
    if stored != nonce:
        raise RuntimeError("the cache did not return the value just written")


def broker(timeout: float = 2.0) -> None:
    """Open a new connection to the Celery broker, without retrying.

    For Redis, kombu verifies a new connection by creating a channel, which sends a PING.
    """
    with celery_app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=0, timeout=timeout)
