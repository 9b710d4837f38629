"""Is the Celery broker somewhere it can be evicted? Reported by ``check --deploy`` and ``/readyz``.

A queued message is the only record of a task, so the broker must never be evicted. Redis evicts
per *server*, not per database number: a broker on another database of the cache's server is
evicted with the cache (``allkeys-lru``), and a full cache with ``noeviction`` refuses the
broker's writes too. So the broker is reported when

- ``broker_evicts``: its Redis server's ``maxmemory-policy`` is anything but ``noeviction`` (asked
  with ``CONFIG GET``; managed Redis services may refuse that command, and then only the next rule
  can tell);
- ``broker_shares_cache_server``: it is the cache's Redis server, whatever the database number
  (the same host and port, or the same ``run_id`` when both servers answer ``INFO``: two names of
  one server).

A broker that is not Redis (RabbitMQ: ``amqp://``) never evicts. A server that does not answer
(the release step may run before it does) is judged by its URL alone; ``/readyz``'s broker check
reports it down.
"""

import contextlib
import time
from urllib.parse import urlsplit

import redis
from django.conf import settings

from backend.common import redis_client

BROKER_EVICTS = "broker_evicts"
BROKER_SHARES_CACHE_SERVER = "broker_shares_cache_server"
MESSAGES = {
    BROKER_EVICTS: "The Celery broker's Redis server evicts keys (maxmemory-policy {policy}): queued tasks can "
    "be lost under memory pressure.",
    BROKER_SHARES_CACHE_SERVER: "The Celery broker is on the cache's Redis server ({server}): eviction and "
    "maxmemory are per server, not per database, so filling the cache evicts or blocks the broker.",
}
HINT = (
    "Point CELERY_BROKER_URL at RabbitMQ (amqp://...) or at a Redis server of its own with "
    "maxmemory-policy noeviction (docs/deployment.md)."
)
REDIS_SCHEMES = {"redis", "rediss"}
_LOOPBACK = {"localhost", "127.0.0.1", "::1"}
# /readyz asks at most this often per process: the placement changes with a deploy or a CONFIG SET,
# not per request, and an anonymous probe must not open connections at will.
READYZ_MEMO_SECONDS = 60.0
_memo: dict[tuple[str, str], tuple[float, list[str]]] = {}


def _server(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    host = (parts.hostname or "localhost").lower()
    return ("loopback" if host in _LOOPBACK else host), parts.port or 6379


def _ask(url: str, timeout: float) -> tuple[str | None, str | None]:
    """The server's ``run_id`` and ``maxmemory-policy``, each None when it will not say."""
    client = redis.Redis.from_url(
        url, socket_timeout=timeout, socket_connect_timeout=timeout, **redis_client.fail_fast_options()
    )
    try:
        try:
            run_id = client.info("server").get("run_id")
        except redis.ResponseError:
            run_id = None
        try:
            policy = client.config_get("maxmemory-policy").get("maxmemory-policy")
        except redis.ResponseError:  # CONFIG renamed or refused (managed Redis)
            policy = None
        return run_id, policy
    finally:
        client.close()


def problems(broker_url: str, cache_url: str | None, *, timeout: float = 1.0) -> list[tuple[str, str]]:
    """``[(code, message)]`` for the broker at ``broker_url`` next to the cache at ``cache_url``.

    ``cache_url`` is None when the cache is not Redis. Opens one short-lived connection to each
    Redis server (``timeout`` seconds at most per call); an unreachable one is judged by its URL.
    """
    if urlsplit(broker_url).scheme not in REDIS_SCHEMES:
        return []
    found = []
    try:
        broker_id, policy = _ask(broker_url, timeout)
    except (redis.RedisError, OSError):  # unreachable: only the URLs can tell
        broker_id, policy = None, None
    if policy is not None and policy != "noeviction":
        found.append((BROKER_EVICTS, MESSAGES[BROKER_EVICTS].format(policy=policy)))
    if cache_url and urlsplit(cache_url).scheme in REDIS_SCHEMES:
        same = _server(broker_url) == _server(cache_url)
        if not same and broker_id is not None:
            with contextlib.suppress(redis.RedisError, OSError):  # a cache that does not answer: not judged
                same = _ask(cache_url, timeout)[0] == broker_id
        if same:
            server = "{}:{}".format(*_server(cache_url))
            found.append((BROKER_SHARES_CACHE_SERVER, MESSAGES[BROKER_SHARES_CACHE_SERVER].format(server=server)))
    return found


def configured_cache_url() -> str | None:
    """The default cache's Redis URL, or None when the cache is not Redis."""
    cache = settings.CACHES["default"]
    location = cache.get("LOCATION")
    if "redis" not in cache["BACKEND"].lower() or not isinstance(location, str):
        return None
    return location


def configured_broker_url() -> str:
    """The broker the Celery app uses (``CELERY_BROKER_URL``)."""
    from config.celery_app import app

    return app.conf.broker_url


def readiness_warnings() -> list[str]:
    """The problem codes of the configured broker, asked at most every READYZ_MEMO_SECONDS per process."""
    key = (configured_broker_url(), configured_cache_url() or "")
    now = time.monotonic()
    cached = _memo.get(key)
    if cached is None or now - cached[0] > READYZ_MEMO_SECONDS:
        cached = (now, [code for code, _ in problems(key[0], key[1] or None)])
        _memo[key] = cached
    return cached[1]
