"""The benchmark's ``ttl`` peer (bench/ttl_peer.py): Django's per-view cache on every hot view's route,
per token, with the previous system's TTLs and no event-driven invalidation."""

import subprocess

import pytest
from django.urls import resolve

from backend.caching import registry
from bench.server_timing import parse_server_timing
from bench.ttl_peer import hot_view_of
from tests.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def ttl_peer(settings):
    settings.HOT_CACHE_ENABLED = False
    settings.SERVER_TIMING_ENABLED = True
    settings.ROOT_URLCONF = "bench.ttl_urls"
    return settings


def _outcome(response) -> str | None:
    return (parse_server_timing(response["Server-Timing"]).get("cache") or {}).get("desc")


def test_every_hot_namespace_has_a_wrapped_route_at_its_declared_ttl(ttl_peer):
    paths = {
        "profile:user": "/api/v1/users/1/profile/",
        "account_details:user": "/api/v1/me/account-details/",
        "payments:user": "/api/v1/users/1/payments/",
        "reviews:user": "/api/v1/users/1/reviews/",
        "reviews:reviewer": "/api/v1/users/1/reviews-given/",
        "job:detail": "/api/v1/jobs/1/",
        "jobs:open": "/api/v1/jobs/",
        "dashboard:applications": "/api/v1/me/applications/",
        "dashboard:jobs": "/api/v1/me/jobs/",
    }
    assert set(paths) == set(registry.namespaces())
    for namespace, path in paths.items():
        callback = resolve(path).func
        assert hot_view_of(callback).namespace == namespace
        assert callback.ttl_peer_ttl == registry.get(namespace).ttl
    # The previous system's TTLs (shared/ARCHITECTURE.md): payments 5 min, profiles an hour.
    assert resolve("/api/v1/users/1/payments/").func.ttl_peer_ttl == 300
    assert resolve("/get-profile/1").func.ttl_peer_ttl == 3600  # a legacy twin too
    assert not hasattr(resolve("/api/v1/ops/floor/").func, "ttl_peer_ttl")


def test_the_second_read_is_a_hit_and_a_write_is_not_seen_until_the_entry_expires(ttl_peer, client_for, user):
    client = client_for(user)
    first = client.get("/api/v1/me/profile/")
    assert (first.status_code, _outcome(first)) == (200, "miss")
    second = client.get("/api/v1/me/profile/")
    assert (second.status_code, _outcome(second)) == (200, "hit")
    assert second.json() == first.json()

    assert client.patch("/api/v1/me/profile/", {"headline": "Changed"}, format="json").status_code == 200
    after = client.get("/api/v1/me/profile/")
    # No event-driven invalidation: the peer serves the old headline (a stale read the bench counts).
    assert _outcome(after) == "hit"
    assert after.json()["headline"] == first.json()["headline"] != "Changed"


def test_entries_are_per_token_and_private_responses_stay_private(ttl_peer, client_for, user):
    other = make_user(email="peer-other@example.com")
    mine = client_for(user).get("/api/v1/me/account-details/")
    again = client_for(user).get("/api/v1/me/account-details/")
    theirs = client_for(other).get("/api/v1/me/account-details/")
    assert (_outcome(mine), _outcome(again), _outcome(theirs)) == ("miss", "hit", "miss")
    assert theirs.json() != mine.json()
    for response in (mine, again, theirs):
        assert "private" in response["Cache-Control"]
        assert "no-store" in response["Cache-Control"]
        assert "Authorization" in response["Vary"]


def test_the_ttl_configuration_turns_the_peer_on_in_the_benchmark_settings_only(tmp_path):
    from bench.harness.configs import CONFIGS
    from bench.stack import PYTHON, REPO, stack_environment

    assert CONFIGS["ttl"].env["TTL_PEER_CACHE"] == "true"
    assert CONFIGS["ttl"].env["HOT_CACHE_ENABLED"] == "false"
    assert [name for name, config in CONFIGS.items() if config.env.get("TTL_PEER_CACHE") == "true"] == ["ttl"]
    script = "import django; django.setup(); from django.conf import settings; print(settings.ROOT_URLCONF)"
    urlconfs = {}
    for settings_module in ("config.settings.bench", "config.settings.production"):
        env = stack_environment("postgres://x@127.0.0.1/x", "redis://127.0.0.1:6379/0", 1, tmp_path)
        env.update(DJANGO_SETTINGS_MODULE=settings_module, TTL_PEER_CACHE="true", CELERY_BROKER_URL="amqp://x@h//")
        done = subprocess.run([PYTHON, "-c", script], env=env, cwd=REPO, capture_output=True, text=True, check=True)
        urlconfs[settings_module] = done.stdout.strip()
    assert urlconfs == {"config.settings.bench": "bench.ttl_urls", "config.settings.production": "config.urls"}
