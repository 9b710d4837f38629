"""The platform's probes: /healthz (liveness) and /readyz (readiness).

Failures are real: a Redis URL on a port nothing listens on, a private redis-server that is
stopped, a broker URL that refuses connections, a database the test may not reach.
"""

import time

import pytest
from django.core.cache import cache
from django.test import override_settings

from backend.caching.breaker import breaker_for
from bench.stack import free_port
from config.celery_app import app
from config.settings.base import redis_cache


def _readiness(response) -> dict:
    """The body without ``warnings``, which depend on the run's Redis (tests/ops/test_broker_placement.py)."""
    return {name: value for name, value in response.json().items() if name != "warnings"}


@pytest.fixture
def unreachable_broker():
    previous = app.conf.broker_url
    app.conf.broker_url = f"redis://127.0.0.1:{free_port()}/0"
    try:
        yield
    finally:
        app.conf.broker_url = previous


# --- /healthz -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_healthz_answers_ok_without_any_query_even_with_a_bad_token(api_client, django_assert_num_queries):
    # given: a token that does not exist (authentication would answer 401, and cost a query)
    api_client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

    # when
    with django_assert_num_queries(0):
        response = api_client.get("/healthz")

    # then
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_healthz_answers_ok_while_the_database_is_out_of_reach(api_client):
    # No django_db mark: pytest-django refuses every database access in this test.
    response = api_client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_healthz_answers_json_whatever_the_accept_header_asks_for(api_client):
    response = api_client.get("/healthz", HTTP_ACCEPT="text/html")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"


# --- /readyz --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_readyz_checks_database_cache_and_broker_with_one_query(api_client, django_assert_num_queries):
    # The one query is the database check itself (SELECT 1); there is no authentication.
    with django_assert_num_queries(1):
        response = api_client.get("/readyz")

    assert response.status_code == 200
    assert _readiness(response) == {"status": "ok", "checks": {"database": "ok", "cache": "ok", "broker": "ok"}}


def test_readyz_names_the_database_when_it_cannot_be_reached(api_client):
    # No django_db mark: every database access raises, as a dead database would.
    response = api_client.get("/readyz")

    assert response.status_code == 503
    assert _readiness(response) == {"status": "failed", "checks": {"database": "failed", "cache": "ok", "broker": "ok"}}


@pytest.mark.django_db
def test_readyz_names_the_cache_when_redis_does_not_answer(api_client):
    with override_settings(CACHES={"default": redis_cache(f"redis://127.0.0.1:{free_port()}/0")}):
        response = api_client.get("/readyz")

    assert response.status_code == 503
    assert _readiness(response) == {"status": "failed", "checks": {"database": "ok", "cache": "failed", "broker": "ok"}}


@pytest.mark.django_db
def test_readyz_names_the_broker_when_it_refuses_connections(api_client, unreachable_broker):
    started = time.monotonic()
    response = api_client.get("/readyz")

    assert response.status_code == 503
    assert _readiness(response) == {"status": "failed", "checks": {"database": "ok", "cache": "ok", "broker": "failed"}}
    assert time.monotonic() - started < 3, "a dead broker must not hold the probe (no retries)"


@pytest.mark.django_db
def test_readyz_reports_redis_as_it_is_now_not_as_the_open_circuit_breaker_remembers(api_client, own_redis):
    # given: the breaker is open after a failure, so the cache API skips Redis for a while
    breaker_for("redis").record_failure(ConnectionError("Redis went away a moment ago"))
    cache.set("probe", "value")
    assert cache.get("probe") is None

    # when / then: Redis answers again, and readiness says so at once
    response = api_client.get("/readyz")
    assert response.status_code == 200, response.json()
    assert response.json()["checks"]["cache"] == "ok"


@pytest.mark.django_db
def test_readyz_fails_fast_once_the_cache_server_stops(api_client, own_redis):
    # given: ready while Redis runs
    assert api_client.get("/readyz").status_code == 200

    # when
    own_redis.stop()
    started = time.monotonic()
    response = api_client.get("/readyz")

    # then: within the cache's short socket timeouts
    assert response.status_code == 503
    assert response.json()["checks"]["cache"] == "failed"
    assert time.monotonic() - started < 2


@pytest.mark.django_db
def test_readyz_is_open_to_anonymous_callers_and_never_throttled(api_client):
    # Far beyond the auth endpoints' rate (20/min): probes come every few seconds, forever.
    statuses = {api_client.get("/readyz").status_code for _ in range(30)}

    assert statuses == {200}


@pytest.mark.django_db
def test_probes_take_get_only(api_client):
    assert api_client.post("/readyz").status_code == 405
    assert api_client.post("/healthz").status_code == 405
