"""Redis failing under the API: answers stay correct, writes succeed, nothing stale survives recovery.

Each test runs its own real redis-server (tests/redis_server.py) and stops or pauses it; the
machine's shared Redis is never touched.
"""

import pytest

from backend.caching.breaker import breaker_for
from backend.caching.models import CacheOutage
from workers.cache import recover_cache

pytestmark = [pytest.mark.redis, pytest.mark.django_db]


@pytest.fixture
def own_redis(own_redis):
    """tests/conftest.py's private redis-server, with a closed circuit breaker that retries fast."""
    breaker = breaker_for("redis")
    breaker.reset()
    cooldown, breaker.cooldown = breaker.cooldown, 0.2
    try:
        yield own_redis
    finally:
        breaker.cooldown = cooldown
        breaker.reset()


def profile(client, user):
    return client.get(f"/api/v1/users/{user.id}/profile/")


def test_reads_and_writes_succeed_while_redis_is_down(own_redis, client_for, user, django_capture_on_commit_callbacks):
    client = client_for(user)
    assert profile(client, user).hot_cache_outcome == "miss"
    assert profile(client, user).hot_cache_outcome == "hit"

    own_redis.stop()
    with django_capture_on_commit_callbacks(execute=True):
        written = client.patch("/api/v1/me/profile/", {"city": "Kaduna"})
    reads = [profile(client, user) for _ in range(20)]

    assert written.status_code == 200
    assert all(r.status_code == 200 and r.json()["city"] == "Kaduna" for r in reads)
    assert {r.hot_cache_outcome for r in reads} == {"bypass"}
    assert breaker_for("redis").is_open  # later calls skip Redis instead of waiting on it
    assert CacheOutage.objects.count() == 1  # the lost invalidation is on record, once


def test_a_payload_made_stale_during_an_outage_is_never_served_after_it(
    own_redis, client_for, user, django_capture_on_commit_callbacks
):
    client = client_for(user)
    profile(client, user)
    assert profile(client, user).json()["city"] == ""  # cached, with the old city

    own_redis.pause()  # Redis keeps its data but answers nothing: the invalidation is lost
    with django_capture_on_commit_callbacks(execute=True):
        client.patch("/api/v1/me/profile/", {"city": "Jos"})
    during = profile(client, user)
    own_redis.resume()
    breaker_for("redis")._opened_at -= 1  # let the cooldown pass without sleeping

    after = profile(client, user)

    assert during.json()["city"] == "Jos"
    assert after.json()["city"] == "Jos"
    assert after.hot_cache_outcome in {"miss", "hit"}
    assert not CacheOutage.objects.exists()


def test_beat_replays_an_outage_another_process_recorded(own_redis, client_for, user):
    client = client_for(user)
    profile(client, user)
    assert profile(client, user).hot_cache_outcome == "hit"
    CacheOutage.objects.create(cache_alias="default", reason="seen by another process")

    assert recover_cache() == 1

    assert profile(client, user).hot_cache_outcome == "miss"  # the epoch moved: everything rebuilt
    assert not CacheOutage.objects.exists()
