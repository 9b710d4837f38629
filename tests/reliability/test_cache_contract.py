"""Every method of the cache backend keeps Django's cache API contract whatever Redis does.

Issue 11, kind 1. The example: with Redis down, ``ResilientRedisCache.get(key, default)`` returned
None instead of ``default``, so DRF's throttle (``cache.get(key, [])``) failed and
``POST /api/v1/auth/token/`` answered 500. Each public method of django-redis's ``RedisCache`` and
Django's ``BaseCache`` (async variants included) is called against a private redis-server that is
stopped, paused (``CLIENT PAUSE ... ALL``), paused for writes (``CLIENT PAUSE ... WRITE``), out of
memory with ``noeviction``, a read-only replica, or healthy behind an open circuit. Expected: what
Django and django-redis document for an empty cache and a write that was not applied (``CALLS``);
reads that Redis still answers (out of memory, read-only, paused for writes) answer as a healthy
empty Redis does. A method without a row fails ``test_every_public_method_has_a_row``.
"""

import inspect
from datetime import UTC, datetime

import pytest
from asgiref.sync import async_to_sync
from django.core.cache.backends.base import BaseCache
from django_redis.cache import RedisCache
from redis.exceptions import LockError

from backend.caching import backends
from backend.caching.backends import ResilientRedisCache
from backend.caching.breaker import breaker_for
from config.settings.base import redis_cache
from tests.redis_server import Faulty

pytestmark = [pytest.mark.reliability, pytest.mark.redis, pytest.mark.django_db]

FAULTS = ("stopped", "paused", "paused_for_writes", "out_of_memory", "read_only_replica", "circuit_open")
READS_ANSWERED = {"paused_for_writes", "out_of_memory", "read_only_replica"}  # Redis still serves reads
WHEN = datetime(2030, 1, 1, tzinfo=UTC)


def _lock_acquire(cache):
    return cache.lock("lk", timeout=5).acquire(blocking=False)


def _lock_context(cache):
    with cache.lock("lk", timeout=5, blocking=False):
        return "acquired"


def _iterate(name: str, *args):
    return lambda cache: list(getattr(cache, name)(*args))


def _async(name: str, *args):
    return lambda cache: async_to_sync(getattr(cache, name))(*args)  # thread-sensitive parts on this thread


def _call(name: str, *args, **kwargs):
    return lambda cache: getattr(cache, name)(*args, **kwargs)


# (id, call, expected): a value, or the exception the contract raises. The example first.
CALLS = [
    ("get with a default", _call("get", "k", []), []),
    ("get", _call("get", "k"), None),
    ("get_many", _call("get_many", ["a", "b"]), {}),
    ("get_or_set", _call("get_or_set", "k", "v"), "v"),
    ("get_or_set with a callable", _call("get_or_set", "k", lambda: "w"), "w"),
    ("has_key", _call("has_key", "k"), False),
    ("ttl", _call("ttl", "k"), 0),
    ("pttl", _call("pttl", "k"), 0),
    ("keys", _call("keys", "*"), []),
    ("iter_keys", _iterate("iter_keys", "*"), []),
    ("set", _call("set", "k", "v"), False),
    ("add", _call("add", "k", "v"), False),
    ("set_many", _call("set_many", {"a": 1, "b": 2}), ["a", "b"]),
    ("touch", _call("touch", "k"), False),
    ("delete", _call("delete", "k"), False),
    ("delete_many", _call("delete_many", ["a", "b"]), 0),
    ("delete_pattern", _call("delete_pattern", "a*"), 0),
    ("clear", _call("clear"), None),
    ("incr", _call("incr", "k"), ValueError),
    ("decr", _call("decr", "k"), ValueError),
    ("incr_version", _call("incr_version", "k"), ValueError),
    ("decr_version", _call("decr_version", "k"), ValueError),
    ("expire", _call("expire", "k", 10), False),
    ("expire_at", _call("expire_at", "k", WHEN), False),
    ("pexpire", _call("pexpire", "k", 10_000), False),
    ("pexpire_at", _call("pexpire_at", "k", WHEN), False),
    ("persist", _call("persist", "k"), False),
    ("lock acquire", _lock_acquire, False),
    ("lock as a context manager", _lock_context, LockError),
    ("close", _call("close"), None),
    ("scard", _call("scard", "s"), 0),
    ("sdiff", _call("sdiff", "s", "t"), set()),
    ("sinter", _call("sinter", "s", "t"), set()),
    ("sunion", _call("sunion", "s", "t"), set()),
    ("smembers", _call("smembers", "s"), set()),
    ("sismember", _call("sismember", "s", "m"), False),
    ("smismember", _call("smismember", "s", "m", "n"), [False, False]),
    ("srandmember", _call("srandmember", "s"), None),
    ("srandmember with a count", _call("srandmember", "s", 2), []),
    ("sscan", _call("sscan", "s"), set()),
    ("sscan_iter", _iterate("sscan_iter", "s"), []),
    ("hlen", _call("hlen", "h"), 0),
    ("hkeys", _call("hkeys", "h"), []),
    ("hexists", _call("hexists", "h", "f"), False),
    ("sadd", _call("sadd", "s", "m"), 0),
    ("srem", _call("srem", "s", "m"), 0),
    ("smove", _call("smove", "s", "t", "m"), False),
    ("spop", _call("spop", "s"), None),
    ("spop with a count", _call("spop", "s", 2), set()),
    ("sdiffstore", _call("sdiffstore", "d", "s", "t"), 0),
    ("sinterstore", _call("sinterstore", "d", "s", "t"), 0),
    ("sunionstore", _call("sunionstore", "d", "s", "t"), 0),
    ("hset", _call("hset", "h", "f", "v"), 0),
    ("hdel", _call("hdel", "h", "f"), 0),
    ("zcard", _call("zcard", "z"), 0),
    ("zcount", _call("zcount", "z", 0, 10), 0),
    ("zrange", _call("zrange", "z", 0, -1), []),
    ("zrevrange", _call("zrevrange", "z", 0, -1), []),
    ("zrangebyscore", _call("zrangebyscore", "z", 0, 10), []),
    ("zrevrangebyscore", _call("zrevrangebyscore", "z", 10, 0), []),
    ("zrank", _call("zrank", "z", "m"), None),
    ("zscore", _call("zscore", "z", "m"), None),
    ("zadd", _call("zadd", "z", {"m": 1.0}), 0),
    ("zadd with incr", _call("zadd", "z", {"m": 1.0}, incr=True), None),
    ("zincrby", _call("zincrby", "z", 1.0, "m"), None),
    ("zrem", _call("zrem", "z", "m"), 0),
    ("zremrangebyscore", _call("zremrangebyscore", "z", 0, 10), 0),
    ("zpopmax", _call("zpopmax", "z"), None),
    ("zpopmax with a count", _call("zpopmax", "z", 2), []),
    ("zpopmin", _call("zpopmin", "z"), None),
    # Django's async API (BaseCache builds it on the methods above)
    ("aget with a default", _async("aget", "k", []), []),
    ("aget_many", _async("aget_many", ["a", "b"]), {}),
    ("aget_or_set", _async("aget_or_set", "k", "v"), "v"),
    ("ahas_key", _async("ahas_key", "k"), False),
    ("aset", _async("aset", "k", "v"), False),
    ("aadd", _async("aadd", "k", "v"), False),
    ("aset_many", _async("aset_many", {"a": 1, "b": 2}), ["a", "b"]),
    ("atouch", _async("atouch", "k"), False),
    ("adelete", _async("adelete", "k"), False),
    ("adelete_many", _async("adelete_many", ["a", "b"]), None),
    ("aclear", _async("aclear"), None),
    ("aincr", _async("aincr", "k"), ValueError),
    ("adecr", _async("adecr", "k"), ValueError),
    ("aincr_version", _async("aincr_version", "k"), ValueError),
    ("adecr_version", _async("adecr_version", "k"), ValueError),
    ("aclose", _async("aclose"), None),
]
# Public attributes that make no Redis call.
READS = {
    *("get", "get_many", "get_or_set", "has_key", "ttl", "pttl", "keys", "iter_keys", "incr", "decr"),
    *("incr_version", "decr_version", "scard", "sdiff", "sinter", "sunion", "smembers", "sismember"),
    *("smismember", "srandmember", "sscan", "sscan_iter", "hlen", "hkeys", "hexists"),
    *("zcard", "zcount", "zrange", "zrevrange", "zrangebyscore", "zrevrangebyscore", "zrank", "zscore"),
}  # and incr/decr of a missing key, which raise without writing
NOT_REDIS_CALLS = {"client", "make_key", "make_and_validate_key", "validate_key", "get_backend_timeout"}


@pytest.fixture(scope="module")
def faulty():
    servers = Faulty()
    yield servers
    servers.close()


def cache_on(url: str) -> ResilientRedisCache:
    config = redis_cache(url)
    config["OPTIONS"].update(SOCKET_TIMEOUT=0.05, SOCKET_CONNECT_TIMEOUT=0.05)  # a paused server costs 50 ms a call
    return ResilientRedisCache(url, {key: value for key, value in config.items() if key != "LOCATION"})


@pytest.fixture
def open_circuit():
    breaker = breaker_for("redis")
    cooldown, breaker.cooldown = breaker.cooldown, 3600
    breaker.record_failure(RuntimeError("opened by the test"))
    yield
    breaker.cooldown = cooldown
    breaker.reset()


def outcome(call, cache):
    try:
        return call(cache)
    except Exception as exc:
        return type(exc)


def matches(result, expected) -> bool:
    if isinstance(expected, type) and issubclass(expected, BaseException):
        return isinstance(result, type) and issubclass(result, expected)
    return result == expected and type(result) is type(expected)


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize(("call", "expected"), [pytest.param(c, e, id=i) for i, c, e in CALLS])
def test_a_failing_redis_answers_as_the_cache_api_documents(faulty, request, fault, call, expected):
    # given
    server = faulty.server("circuit_open" if fault == "circuit_open" else fault)
    if fault == "circuit_open":
        request.getfixturevalue("open_circuit")
    cache = cache_on(server.url)

    # when
    result = outcome(call, cache)

    # then
    assert matches(result, expected), f"{fault}: got {result!r}, expected {expected!r}"


@pytest.mark.parametrize(
    ("call", "expected"), [pytest.param(c, e, id=i) for i, c, e in CALLS if i.split()[0].lstrip("a") in READS]
)
def test_a_healthy_empty_redis_answers_reads_the_same(faulty, call, expected):
    """The reads' fallbacks are the empty cache's answers: a read cannot tell an outage from a miss."""
    cache = cache_on(faulty.server("healthy").url)
    cache.clear()

    assert matches(outcome(call, cache), expected)


def test_every_public_method_has_a_row():
    declared = {name for _, call, _ in CALLS for name in _names(call)}
    public = {
        name
        for cls in (RedisCache, BaseCache)
        for name, value in vars(cls).items()
        if not name.startswith("_") and (callable(value) or isinstance(value, property))
    }

    missing = public - declared - NOT_REDIS_CALLS
    assert not missing, f"cache methods without a row in CALLS: {sorted(missing)}"
    assert not set(backends.CONTRACTS) - declared, sorted(set(backends.CONTRACTS) - declared)


def _names(call) -> set[str]:
    """The cache methods a row's call uses (from its closure's method name, or the helper's code)."""
    closure = inspect.getclosurevars(call)
    names = {value for value in closure.nonlocals.values() if isinstance(value, str)}
    if call in (_lock_acquire, _lock_context):
        names.add("lock")
    return names
