"""The Server-Timing header: hot-cache outcome, the queries that reached the database, cachalot hits,
Redis round trips, and the request's time; each figure checked against an independent count.

The database figure is compared with ``django_assert_num_queries`` on the same request, and the
Redis figure with the commands redis-py actually sent (a spy on its connection), so a counter
that drifts from reality fails here. Every test runs on the cache the run was given (LocMem by
default, Redis with REDIS_URL); the ``own_redis`` tests always use a real Redis of their own.
"""

import re
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone
from redis.connection import AbstractConnection

from backend.observability.meter import count_cache_round_trip, measure
from bench.server_timing import desc_count, parse_server_timing
from tests.factories import make_job

pytestmark = pytest.mark.django_db

# The open jobs through the filter's path: /api/v1/jobs/ alone is a hot view (backend/jobs/hot_caches.py).
UNCACHED_LIST = "/api/v1/jobs/?status=open"


def timing(response) -> dict[str, dict]:
    """The header as {name: {"dur": float | None, "desc": str | None, "n": int | None}}."""
    header = response["Server-Timing"]
    entries = parse_server_timing(header)
    # Every entry is a lowercase token the parser read (none dropped or merged).
    assert all(re.fullmatch("[a-z]+", name) for name in entries), header
    assert len(entries) == len(header.split(", ")), header
    return {name: {**entry, "n": desc_count(entries, name)} for name, entry in entries.items()}


@contextmanager
def redis_commands_sent(monkeypatch):
    """How many times redis-py wrote to a Redis socket: one per command or pipeline, i.e. per round trip."""
    sent = {"n": 0}
    original = AbstractConnection.send_packed_command

    def send_packed_command(self, *args, **kwargs):
        sent["n"] += 1
        return original(self, *args, **kwargs)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", send_packed_command)
    yield sent
    monkeypatch.setattr(AbstractConnection, "send_packed_command", original)


@pytest.fixture
def timed():
    with override_settings(SERVER_TIMING_ENABLED=True):
        yield


def _job_payload() -> dict:
    start = (timezone.now() + timedelta(days=3)).replace(microsecond=0)
    return {
        "title": "Bar staff",
        "description": "Serve drinks at a wedding.",
        "city": "Abuja",
        "address": "12 Garki Road",
        "pay_rate": "20.00",
        "shift_start": start.isoformat(),
        "shift_end": (start + timedelta(hours=6)).isoformat(),
        "slots": 3,
    }


def _measured(client, method, path, django_assert_num_queries, monkeypatch, queries, **kwargs):
    """One request: the header's figures, the queries Django saw, the Redis commands redis-py sent."""
    with redis_commands_sent(monkeypatch) as sent, django_assert_num_queries(queries) as captured:
        response = getattr(client, method)(path, **kwargs)
    return response, timing(response), len(captured), sent["n"]


# --- the database and cachalot -----------------------------------------------------------------


def test_cold_and_warm_hot_reads_report_the_queries_django_saw(
    timed, client_for, user, django_assert_num_queries, monkeypatch
):
    client = client_for(user)  # a new client builds its middleware chain with the setting on
    path = f"/api/v1/users/{user.id}/profile/"

    # token (its auth:token entry is stored), profile with its rating summary
    cold, cold_timing, cold_queries, cold_sent = _measured(
        client, "get", path, django_assert_num_queries, monkeypatch, 2
    )
    # nothing: the token and the body come from the hot store
    warm, warm_timing, warm_queries, warm_sent = _measured(
        client, "get", path, django_assert_num_queries, monkeypatch, 0
    )

    assert cold.status_code == warm.status_code == 200
    assert cold_timing["cache"]["desc"] == "miss"
    assert cold_timing["db"]["n"] == cold_queries == 2
    assert cold_timing["cachalot"]["n"] == 0
    assert cold_timing["redis"]["n"] == cold_sent
    assert warm_timing["cache"]["desc"] == "hit"
    assert warm_timing["db"]["n"] == warm_queries == 0
    assert warm_timing["db"]["dur"] == 0
    assert warm_timing["cachalot"]["desc"] == "0 hits"  # cachalot is not asked: the token's entry answers
    assert warm_timing["redis"]["n"] == warm_sent == 1  # the token's entry and the payload, one pipeline
    assert warm_timing["app"]["dur"] > 0


def test_a_write_reports_the_queries_django_saw(timed, client_for, user, django_assert_num_queries, monkeypatch):
    client = client_for(user)
    client.get("/api/v1/auth/me/")  # stores the token's auth:token entry

    # savepoint, insert, release (transaction control counts), detail read; the token from its entry
    response, figures, queries, sent = _measured(
        client, "post", "/api/v1/jobs/", django_assert_num_queries, monkeypatch, 4, data=_job_payload()
    )

    assert response.status_code == 201, response.content
    assert "cache" not in figures
    assert figures["db"]["n"] == queries == 4
    assert figures["cachalot"]["desc"] == "0 hits"
    assert figures["redis"]["n"] == sent


@pytest.mark.parametrize("rows", [1, 25])
def test_a_list_reports_the_queries_django_saw(timed, client_for, user, rows, django_assert_num_queries, monkeypatch):
    for _ in range(rows):
        make_job()
    client = client_for(user)

    # token, count, page
    _, cold, cold_queries, cold_sent = _measured(
        client, "get", UNCACHED_LIST, django_assert_num_queries, monkeypatch, 3
    )
    # count, page; the token from its auth:token entry (jobs are write-heavy: never cached)
    _, warm, warm_queries, warm_sent = _measured(
        client, "get", UNCACHED_LIST, django_assert_num_queries, monkeypatch, 2
    )

    assert (cold["db"]["n"], cold["cachalot"]["n"]) == (cold_queries, 0) == (3, 0)
    assert (warm["db"]["n"], warm["cachalot"]["n"]) == (warm_queries, 0) == (2, 0)
    assert cold["redis"]["n"] == cold_sent
    assert warm["redis"]["n"] == warm_sent


def test_an_anonymous_list_reports_no_cachalot_hit(timed, django_assert_num_queries, monkeypatch):
    from rest_framework.test import APIClient

    # count only (no jobs: no page query)
    _, figures, queries, _ = _measured(APIClient(), "get", UNCACHED_LIST, django_assert_num_queries, monkeypatch, 1)

    assert figures["db"]["desc"] == "1 query"
    assert queries == 1
    assert figures["cachalot"]["desc"] == "0 hits"
    assert "cache" not in figures


# --- Redis ---------------------------------------------------------------------------------------


# Transactional: inside a test's transaction cachalot keeps what it caches in memory until commit,
# so only autocommit requests (as in production) show cachalot's own Redis round trips.
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_with_redis_a_warm_hot_read_is_one_round_trip_and_no_query(
    own_redis, timed, client_for, user, django_assert_num_queries, monkeypatch
):
    client = client_for(user)
    path = f"/api/v1/users/{user.id}/profile/"
    client.get(path)  # cold: builds and stores the payload, stores the token's entry

    response, figures, queries, sent = _measured(client, "get", path, django_assert_num_queries, monkeypatch, 0)

    assert response.status_code == 200
    assert figures["cache"]["desc"] == "hit"
    assert figures["db"]["n"] == queries == 0
    # one pipeline: the token's entry and the payload (generations, entries, epoch); cachalot not asked.
    # A view keyed by who asks (/me/profile/) takes two (tests/accounts/test_token_authentication.py).
    assert figures["cachalot"]["desc"] == "0 hits"
    assert figures["redis"]["desc"] == "1 round trip"
    assert sent == 1


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("method", "path", "queries"),
    [
        ("get", UNCACHED_LIST, 3),  # token, count, page
        # token, BEGIN, insert, COMMIT; nothing rebuilt on commit: no key the write touched has been read, and
        # a write rebuilds only keys someone reads (HOT_CACHE_REBUILD_MIN_POPULARITY)
        ("post", "/api/v1/jobs/", 5),
        # token; the profile, never read before, built by this read (1 query)
        ("get", "/api/v1/users/{user_id}/profile/", 2),
    ],
)
def test_with_redis_round_trips_match_what_the_redis_client_sent(
    own_redis, timed, client_for, user, method, path, queries, django_assert_num_queries, monkeypatch
):
    make_job()
    client = client_for(user)
    kwargs = {"data": _job_payload()} if method == "post" else {}

    response, figures, captured, sent = _measured(
        client, method, path.format(user_id=user.id), django_assert_num_queries, monkeypatch, queries, **kwargs
    )

    assert response.status_code < 300, response.content
    assert figures["db"]["n"] == captured == queries
    assert figures["redis"]["n"] == sent > 0


# --- the parts, outside a request ---------------------------------------------------------------


def test_measure_counts_statements_cachalot_hits_and_round_trips_outside_a_request(user):
    from backend.accounts.models import User

    User.objects.get(pk=user.pk)  # cachalot now holds this query

    with measure() as meter:
        User.objects.get(pk=user.pk)  # served by cachalot
        User.objects.filter(pk=user.pk).update(is_active=True)  # a write always reaches the database
        count_cache_round_trip()

    assert meter.cachalot_hits == 1
    assert meter.db_queries == 1
    assert meter.redis_round_trips >= 1  # ours, plus the invalidation cachalot sends when Redis is the cache


def test_explain_statements_are_reported_as_profiler_work_not_as_queries(timed):
    # silk EXPLAINs every query it records; the application's own figure must not grow with it.
    with measure() as meter, connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.execute(f"{connection.ops.explain_query_prefix()} SELECT 1")

    assert (meter.db_queries, meter.profiler_queries) == (1, 1)


def test_no_round_trip_is_counted_when_nothing_is_measured():
    count_cache_round_trip()  # must not fail, nor count anywhere

    with measure() as meter:
        pass

    assert meter.redis_round_trips == 0


def test_the_hooks_sit_on_the_functions_cachalot_and_django_call(timed):
    from cachalot import monkey_patch
    from django.db.backends.base import base

    with measure():
        pass

    # If an upgrade renames or inlines them, figures would silently read 0: fail here instead.
    assert monkey_patch._get_result_or_execute_query._counted_by_server_timing is True
    assert base.debug_transaction._counted_by_server_timing is True


@override_settings(SERVER_TIMING_ENABLED=False)
def test_server_timing_is_absent_when_switched_off(client_for, user):
    response = client_for(user).get(f"/api/v1/users/{user.id}/profile/")

    assert response.status_code == 200
    assert "Server-Timing" not in response
