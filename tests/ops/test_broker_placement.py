"""The broker where it can be evicted: ``check --deploy`` fails the release, ``/readyz`` says so.

Eviction is per Redis server, not per database number. Each case runs real private redis-servers
(tests/redis_server.py) configured as a deployment might be, and asks both reporters.
"""

from dataclasses import dataclass

import pytest
from django.core.checks import run_checks
from django.test import override_settings

from backend.ops import broker_placement
from config.celery_app import app
from config.settings.base import redis_cache
from tests.redis_server import RedisServer

LRU = ("--maxmemory", "64mb", "--maxmemory-policy", "allkeys-lru")
NO_EVICTION = ("--maxmemory-policy", "noeviction")
NO_CONFIG = ("--rename-command", "CONFIG", "")  # as managed Redis services refuse CONFIG GET


@dataclass(frozen=True)
class Setup:
    cache: tuple[str, ...]  # the cache server's options
    broker: tuple[str, ...] | None  # the broker server's options; None: on the cache's server
    broker_db: int = 1
    broker_host: str = "127.0.0.1"
    expected: frozenset[str] = frozenset()


EVICTS, SHARES = broker_placement.BROKER_EVICTS, broker_placement.BROKER_SHARES_CACHE_SERVER
SETUPS = {
    # the example: the documented default, the next database of an allkeys-lru cache
    "next database of an allkeys-lru cache": Setup(LRU, None, expected=frozenset({EVICTS, SHARES})),
    "next database of a noeviction cache": Setup(NO_EVICTION, None, expected=frozenset({SHARES})),
    "same database number of the cache's server": Setup(LRU, None, broker_db=0, expected=frozenset({EVICTS, SHARES})),
    "the cache's server under another name (localhost)": Setup(
        NO_EVICTION, None, broker_host="localhost", expected=frozenset({SHARES})
    ),
    "the cache's server, CONFIG refused": Setup(NO_CONFIG, None, expected=frozenset({SHARES})),
    "a server of its own with allkeys-lru": Setup(LRU, LRU, expected=frozenset({EVICTS})),
    "a server of its own with volatile-lru": Setup(
        LRU, ("--maxmemory-policy", "volatile-lru"), expected=frozenset({EVICTS})
    ),
    "a server of its own with allkeys-random": Setup(
        LRU, ("--maxmemory-policy", "allkeys-random"), expected=frozenset({EVICTS})
    ),
    "a server of its own with noeviction": Setup(LRU, NO_EVICTION),
    "a server of its own, CONFIG refused": Setup(LRU, NO_CONFIG),
}
CHECK_IDS = {EVICTS: "ops.W001", SHARES: "ops.W002"}


@pytest.fixture
def deployment(request):
    """The cache and broker of ``request.param`` (a Setup), configured as the settings and the Celery app."""
    setup: Setup = request.param
    servers = [RedisServer(*setup.cache)]
    if setup.broker is not None:
        servers.append(RedisServer(*setup.broker))
    for server in servers:
        server.start()
    broker_port = servers[-1].port
    broker_url = f"redis://{setup.broker_host}:{broker_port}/{setup.broker_db if setup.broker is None else 0}"
    previous = app.conf.broker_url
    app.conf.broker_url = broker_url
    broker_placement._memo.clear()
    try:
        with override_settings(CACHES={"default": redis_cache(servers[0].url)}, CELERY_BROKER_URL=broker_url):
            yield setup
    finally:
        app.conf.broker_url = previous
        broker_placement._memo.clear()
        for server in servers:
            server.close()


def _parametrize():
    return pytest.mark.parametrize("deployment", SETUPS.values(), ids=SETUPS.keys(), indirect=True)


@_parametrize()
def test_check_deploy_warns_about_a_broker_that_can_be_evicted(deployment):
    messages = [m for m in run_checks(include_deployment_checks=True) if m.id in CHECK_IDS.values()]

    assert sorted(m.id for m in messages) == sorted(CHECK_IDS[code] for code in deployment.expected)
    assert all(m.is_serious() is False and m.level >= 30 and m.hint for m in messages)  # WARNING: fails the release


@pytest.mark.django_db
@_parametrize()
def test_readyz_reports_a_broker_that_can_be_evicted_and_stays_ready(api_client, deployment):
    response = api_client.get("/readyz")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["checks"] == {"database": "ok", "cache": "ok", "broker": "ok"}
    assert set(body.get("warnings", [])) == deployment.expected


def test_a_broker_that_is_not_redis_never_evicts():
    assert broker_placement.problems("amqp://guest:guest@127.0.0.1:5672//", "redis://127.0.0.1:6379/0") == []
