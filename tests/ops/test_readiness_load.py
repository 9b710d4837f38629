"""Hardening (issue 11): what anonymous ``/readyz`` callers can make the process do is bounded.

No call opens a connection of its own to Redis (cache or broker): after the first, calls reuse the
cache's pool and the broker probe's kept connection. And each probe's outcome is remembered for
``READINESS_CACHE_SECONDS``, so a burst of calls costs one round trip per service.
"""

import pytest
import redis
from django.test import override_settings

from backend.ops import probes
from config.celery_app import app

pytestmark = [pytest.mark.django_db, pytest.mark.redis]


@pytest.fixture
def broker_on_own_redis(own_redis):
    """The broker on database 1 of the test's private Redis (the cache is on database 0)."""
    previous = app.conf.broker_url
    app.conf.broker_url = own_redis.url.replace("/0", "/1")
    try:
        yield own_redis
    finally:
        app.conf.broker_url = previous


@pytest.fixture
def forgetful_probes():
    for probe in (probes.database, probes.cache, probes.broker):
        probe.forget()
    yield
    for probe in (probes.database, probes.cache, probes.broker):
        probe.forget()


def _connections_received(server) -> int:
    with redis.Redis.from_url(server.url) as client:
        return client.info("stats")["total_connections_received"]


def test_readyz_opens_no_redis_connection_per_call(api_client, broker_on_own_redis, forgetful_probes):
    # given: the first call may connect (the cache's pool, the broker probe's connection)
    assert api_client.get("/readyz").json()["checks"] == {"database": "ok", "cache": "ok", "broker": "ok"}
    before = _connections_received(broker_on_own_redis)

    # when: every call probes (test settings remember nothing: READINESS_CACHE_SECONDS = 0)
    statuses = [api_client.get("/readyz").status_code for _ in range(25)]

    # then: 25 round trips to each, over the connections already open (the count includes
    # the one INFO connection of this test)
    assert statuses == [200] * 25
    assert _connections_received(broker_on_own_redis) - before == 1


def test_readyz_remembers_each_outcome_for_a_short_time(api_client, forgetful_probes, django_assert_num_queries):
    with override_settings(READINESS_CACHE_SECONDS=60), django_assert_num_queries(1):
        statuses = [api_client.get("/readyz").status_code for _ in range(10)]

    assert statuses == [200] * 10
