"""Readiness probes: one real round trip to each service a request or a write depends on.

Each probe raises on failure. They bypass the cache's circuit breaker on purpose: the breaker
fails fast for requests (which then fall back to the database), but readiness must report what
Redis does now, not what it did during the last cooldown.

``/readyz`` is anonymous, so what one call costs is bounded: each probe's outcome (success or
failure) is remembered for ``READINESS_CACHE_SECONDS`` (1 s by default) per process, concurrent
calls wait for the one in flight instead of probing again, and no probe opens a connection per
call: the database probe uses the request's connection, the cache probe the cache's connection
pool, the broker probe one connection per process kept open between calls (replaced after a
failure). Any number of callers thus cost at most one round trip per service per process per
``READINESS_CACHE_SECONDS``.
"""

import functools
import secrets
import threading
import time

from django.conf import settings
from django.core.cache import caches
from django.db import connections

from backend.caching.backends import ResilientRedisCache
from config.celery_app import app as celery_app


class ProbeFailed(RuntimeError):
    """A remembered failure of a probe (the original error is its cause)."""


def remembered(probe):
    """``probe``, run at most once per ``settings.READINESS_CACHE_SECONDS``; its outcome in between.

    One lock per probe: a caller arriving while the probe runs waits for that run's outcome.
    """
    lock = threading.Lock()
    last = {"at": None, "error": None}

    @functools.wraps(probe)
    def run() -> None:
        with lock:
            now = time.monotonic()
            if last["at"] is None or now - last["at"] >= settings.READINESS_CACHE_SECONDS:
                try:
                    probe()
                except Exception as exc:
                    last["error"] = exc
                else:
                    last["error"] = None
                last["at"] = time.monotonic()
            error = last["error"]
        if error is not None:
            raise ProbeFailed(repr(error)) from error

    run.forget = lambda: last.update(at=None, error=None)
    return run


@remembered
def database() -> None:
    """``SELECT 1`` on the default database.

    A persistent connection that died was already replaced when the request started
    (``CONN_HEALTH_CHECKS``), so this answers for the database, not for a stale socket.
    """
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


@remembered
def cache() -> None:
    """Write a value and read it back: one pipelined round trip to Redis (or the in-process cache).

    Over a connection of django-redis's pool (shared by the process), not a new one.
    """
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


# The broker probe's connection, by broker URL (tests switch the URL); used under the probe's lock.
_broker_connections: dict[str, object] = {}


@remembered
def broker(timeout: float = 2.0) -> None:
    """One round trip to the Celery broker, over a connection kept open between probes, no retries.

    On kombu's Redis transport the round trip is a PING on the channel's client; other transports
    (RabbitMQ, the embedded ``memory://``) are checked by opening a connection, as kombu verifies
    a new one. A connection that failed is closed and opened afresh by the next probe.
    """
    url = celery_app.conf.broker_url
    connection = _broker_connections.get(url)
    if connection is None:
        connection = _broker_connections[url] = celery_app.connection_for_write()
    try:
        connection.ensure_connection(max_retries=0, timeout=timeout)
        client = getattr(connection.default_channel, "client", None)
        if client is not None and hasattr(client, "ping"):
            client.ping()
        else:
            _broker_connections.pop(url).release()  # opening it was the check
    except Exception:
        _broker_connections.pop(url, None)
        connection.release()
        raise
