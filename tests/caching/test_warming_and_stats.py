"""Popularity, refresh-ahead, the warm-up command and the statistics (API and command)."""

import json
import time

import pytest
from django.core.management import call_command

from backend.caching import stats
from backend.caching.store import get_store
from backend.caching.warming import stale_soon
from tests.factories import make_user
from workers.cache import decay_popularity, refresh_hot_keys

pytestmark = pytest.mark.django_db

NAMESPACES = {
    "payments:user",
    "reviews:user",
    "reviews:reviewer",
    "profile:user",
    "account_details:user",
    "job:detail",
    "jobs:open",
    "dashboard:applications",
    "dashboard:jobs",
    "auth:token",  # the token lookup (backend/accounts/hot_caches.py), counted like a hot view
}


def test_reads_record_popularity(api_client):
    hot, cold = make_user(), make_user()
    for _ in range(3):
        api_client.get(f"/api/v1/users/{hot.id}/profile/")
    api_client.get(f"/api/v1/users/{cold.id}/profile/")

    assert get_store().top_keys("profile:user", 2) == [hot.id, cold.id]


def test_popularity_decays_so_yesterdays_hot_keys_fade():
    store = get_store()
    busy, quiet = make_user(), make_user()
    for _ in range(3):
        store.read("profile:user", busy.id, record_access=True)
    store.read("profile:user", quiet.id, record_access=True)

    decay_popularity()
    assert store.top_keys("profile:user", 10) == [busy.id, quiet.id]
    for _ in range(9):
        decay_popularity()

    assert store.top_keys("profile:user", 10) == []


def test_refresh_ahead_rebuilds_hot_keys_that_are_old_or_missing(api_client, settings):
    user = make_user()
    api_client.get(f"/api/v1/users/{user.id}/profile/")
    settings.HOT_CACHE_REFRESH_FRACTION = 0.0  # every payload counts as old
    stats.reset()

    enqueued = refresh_hot_keys()

    assert enqueued["profile:user"] == 1
    assert stats.collect()["namespaces"]["profile:user"]["rebuilds"] == 1


def test_refresh_ahead_leaves_fresh_payloads_alone(api_client, settings):
    user = make_user()
    api_client.get(f"/api/v1/users/{user.id}/profile/")
    settings.HOT_CACHE_REFRESH_FRACTION = 0.75

    assert stale_soon("profile:user", [user.id], 0.75) == []
    assert refresh_hot_keys()["profile:user"] == 0


def test_warm_caches_all_builds_every_key_so_the_first_read_is_a_hit(api_client, django_assert_num_queries):
    users = [make_user() for _ in range(3)]

    call_command("warm_caches", "--namespace", "profile:user", "--all", verbosity=0)

    with django_assert_num_queries(0):
        responses = [api_client.get(f"/api/v1/users/{u.id}/profile/") for u in users]
    assert {r.hot_cache_outcome for r in responses} == {"hit"}


def test_warm_caches_top_builds_the_most_read_keys(api_client, capsys):
    hot = make_user()
    api_client.get(f"/api/v1/users/{hot.id}/profile/")
    get_store().clear()
    get_store().read("profile:user", hot.id, record_access=True)

    call_command("warm_caches", "--namespace", "profile:user", "--top", "5", verbosity=0)

    assert "profile:user: 1/1 keys warmed" in capsys.readouterr().out
    assert api_client.get(f"/api/v1/users/{hot.id}/profile/").hot_cache_outcome == "hit"


def test_cache_stats_json_has_the_documented_shape(api_client, capsys):
    user = make_user()
    api_client.get(f"/api/v1/users/{user.id}/profile/")
    api_client.get(f"/api/v1/users/{user.id}/profile/")

    call_command("cache_stats", "--json")
    body = json.loads(capsys.readouterr().out)

    assert set(body["namespaces"]) == NAMESPACES
    profile = body["namespaces"]["profile:user"]
    assert profile == {
        "hits": 1,
        "misses": 1,
        "stale_rejects": 0,
        "rebuilds": 0,
        "rebuild_failures": 0,
        "hit_rate": 0.5,
        "warm_latency_ms_p50": None,
        "warm_latency_ms_p95": None,
    }


def test_cache_stats_reset(api_client, capsys):
    user = make_user()
    api_client.get(f"/api/v1/users/{user.id}/profile/")

    call_command("cache_stats", "--reset")
    capsys.readouterr()
    call_command("cache_stats", "--json")

    assert json.loads(capsys.readouterr().out)["namespaces"]["profile:user"]["misses"] == 0


def test_warm_latency_percentiles_come_from_recorded_rebuilds():
    store = get_store()
    for ms in range(1, 101):
        store.store("profile:user", 1, _payload(), 60, latency_ms=float(ms))

    row = stats.collect()["namespaces"]["profile:user"]

    assert row["warm_latency_ms_p50"] == pytest.approx(50, abs=1)
    assert row["warm_latency_ms_p95"] == pytest.approx(95, abs=1)


def _payload():
    from backend.caching.payload import Payload

    return Payload(epoch=b"0", gen=b"1", status=200, built_ms=int(time.time() * 1000), body=b"{}")


def test_stats_endpoint_is_staff_only(client_for, user, staff_user, api_client):
    assert api_client.get("/api/v1/ops/cache/stats/").status_code == 401
    assert client_for(user).get("/api/v1/ops/cache/stats/").status_code == 403

    response = client_for(staff_user).get("/api/v1/ops/cache/stats/")

    assert response.status_code == 200
    assert set(response.json()["namespaces"]) == NAMESPACES
