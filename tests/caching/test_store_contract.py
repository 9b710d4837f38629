"""Both hot stores keep ``HotStore``'s contract: the same answers when healthy, the documented ones when not.

One table (``CALLS``): each method of ``backend.caching.store.HotStore``, what it answers on an empty
healthy store and what it answers when Redis is unreachable (its docstring). Run against
``LocalStore`` and a ``RedisStore`` on a private redis-server (tests/redis_server.py) that is
healthy, stopped, paused, refusing writes (paused for writes, out of memory, a read-only replica:
``tests.redis_server.Faulty``), healthy behind an open circuit, or healthy while an invalidation is
pending (the reads whose answers are served are not asked). A method of the protocol without a row fails
``test_every_store_method_has_a_row``.
"""

import inspect
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import override_settings

from backend.caching import outage
from backend.caching.breaker import REDIS, breaker_for
from backend.caching.payload import NO_EPOCH, Payload
from backend.caching.store import UNREACHABLE, HotStore, LocalStore, ReadResult, RedisStore
from config.settings.base import redis_cache
from tests.redis_server import Faulty

NS = "profile:user"
PAYLOAD = Payload(epoch=NO_EPOCH, gen=b"1", status=200, built_ms=0, body=b"{}")


@dataclass(frozen=True)
class Row:
    id: str
    call: Any  # store -> a comparable answer
    healthy: Any  # on an empty, healthy store
    unreachable: Any  # Redis did not answer (or was not asked)
    serves: bool = False  # its answer reaches clients: not asked while an invalidation is pending
    writes: bool = False  # refused by a Redis that refuses writes
    redis: bool = True  # calls Redis at all (``count`` does not)


def _known(pair: tuple) -> tuple:
    """``(generation, epoch)`` with the generation reduced to "is there one" (it is a timestamp)."""
    return pair[0] is not None, pair[1]


def _lock_twice(store: HotStore):
    return store.acquire_lock(NS, 1, 5), store.acquire_lock(NS, 1, 5)


CALLS = [
    Row("read", lambda s: s.read(NS, 1, record_access=False), ReadResult(None, NO_EPOCH, None), UNREACHABLE, True),
    Row(
        "read recording access",
        lambda s: s.read(NS, 1, record_access=True),
        ReadResult(None, NO_EPOCH, None),
        UNREACHABLE,
        serves=True,
        writes=True,
    ),
    Row(
        "read_many",
        lambda s: s.read_many([(NS, 1, False), (NS, 2, False)]),
        [ReadResult(None, NO_EPOCH, None)] * 2,
        [UNREACHABLE] * 2,
        serves=True,
    ),
    Row("read_generation", lambda s: s.read_generation(NS, 1), (None, NO_EPOCH), (None, None), serves=True),
    Row(
        "ensure_generation", lambda s: _known(s.ensure_generation(NS, 1)), (True, NO_EPOCH), (False, None), writes=True
    ),
    Row("store", lambda s: s.store(NS, 1, PAYLOAD, 60), True, False, writes=True),
    Row("acquire_lock", _lock_twice, (True, False), (None, None), writes=True),
    Row("release_lock", lambda s: s.release_lock(NS, 1), None, None, writes=True),
    Row("bump", lambda s: s.bump([(NS, 1)], window=1.0), ([(NS, 1)], []), None, writes=True),
    # A key nobody read is bumped, and its rebuild left to its next read (tests/caching/test_write_cost.py).
    Row("bump of an unread key", lambda s: s.bump([(NS, 1)], window=1.0, popular=1.0), ([], []), None, writes=True),
    Row("bump_epoch", lambda s: s.bump_epoch(), True, False, writes=True),
    Row("epoch", lambda s: s.epoch(), NO_EPOCH, None),
    Row("top_keys", lambda s: s.top_keys(NS, 3), [], []),
    Row(
        "payloads",
        lambda s: s.payloads(NS, [1, 2]),
        ([None, None], [None, None], [NO_EPOCH, NO_EPOCH]),
        ([None] * 2, [None] * 2, [None] * 2),
    ),
    Row("payloads of no key", lambda s: s.payloads(NS, []), ([], [], []), ([], [], [])),
    Row("decay_popularity", lambda s: s.decay_popularity([NS], 0.5, 10), None, None, writes=True),
    Row("count", lambda s: s.count(NS, "hits"), None, None, redis=False),
    Row("flush_counters", lambda s: (s.count(NS, "hits"), s.flush_counters())[1], None, None, writes=True),
    Row("raw_stats", lambda s: s.raw_stats([NS]), {NS: ({}, [])}, {NS: ({}, [])}),
    Row("reset_stats", lambda s: s.reset_stats([NS]), None, None, writes=True),
    Row("clear", lambda s: s.clear(), None, None, writes=True),
]
ROWS = [pytest.param(row, id=row.id) for row in CALLS]

FAULTS = (
    *("stopped", "paused", "paused_for_writes", "out_of_memory", "read_only_replica"),
    *("circuit_open", "invalidation_pending"),
)
WRITES_REFUSED = {"paused_for_writes", "out_of_memory", "read_only_replica"}  # Redis still answers reads


def expected(row: Row, fault: str) -> Any:
    """What ``row`` answers under ``fault``: unreachable, except where the fault does not concern it."""
    if not row.redis:
        return row.healthy
    if fault in WRITES_REFUSED:
        return row.unreachable if row.writes else row.healthy
    if fault == "invalidation_pending":
        return row.unreachable if row.serves else row.healthy
    return row.unreachable


@pytest.fixture(scope="module")
def faulty():
    servers = Faulty()
    yield servers
    servers.close()


@pytest.fixture
def redis_store_in(faulty, request):
    """``redis_store_in(state)``: a ``RedisStore`` on the cache of a private server in ``state``."""

    def make(state: str) -> RedisStore:
        server_state = "healthy" if state in ("circuit_open", "invalidation_pending") else state
        settings = override_settings(CACHES={"default": redis_cache(faulty.server(server_state).url)})
        settings.enable()
        request.addfinalizer(settings.disable)
        store = RedisStore("default")
        if server_state == "healthy":
            store.clear()
        if state == "circuit_open":
            breaker = breaker_for(REDIS)
            breaker.cooldown = 3600
            request.addfinalizer(lambda: setattr(breaker, "cooldown", 2.0))
            breaker.record_failure(ConnectionError("opened by the test"))
        elif state == "invalidation_pending":
            outage.record_lost_write("default", "lost by the test")
        return store

    return make


@pytest.mark.parametrize("row", ROWS)
def test_the_in_process_store_answers_as_an_empty_healthy_store(row):
    assert row.call(LocalStore()) == row.healthy


@pytest.mark.redis
@pytest.mark.django_db
@pytest.mark.parametrize("row", ROWS)
def test_the_redis_store_answers_as_an_empty_healthy_store(redis_store_in, row):
    assert row.call(redis_store_in("healthy")) == row.healthy


@pytest.mark.redis
@pytest.mark.django_db
@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("row", ROWS)
def test_the_redis_store_answers_as_documented_when_redis_is_unreachable(redis_store_in, row, fault):
    assert row.call(redis_store_in(fault)) == expected(row, fault)


def test_every_store_method_has_a_row_and_both_stores_take_its_parameters():
    methods = {name for name, value in vars(HotStore).items() if not name.startswith("_") and callable(value)}
    covered = {row.id.split()[0] for row in CALLS}

    assert methods == covered
    for name in methods:
        documented = inspect.signature(getattr(HotStore, name))
        assert inspect.getdoc(getattr(HotStore, name)), name
        for store in (RedisStore, LocalStore):
            # The same parameters; a return type may be narrower (LocalStore is never unreachable).
            assert inspect.signature(getattr(store, name)).parameters == documented.parameters, (store.__name__, name)
