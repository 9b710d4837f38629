"""Redis failing under the API: answers stay correct, writes succeed, nothing stale survives recovery.

Each test runs its own real redis-server (tests/redis_server.py) and stops or pauses it; the
machine's shared Redis is never touched.
"""

import time

import pytest
import redis
from rest_framework.test import APIClient

from backend.accounts.models import Profile
from backend.caching import outage
from backend.caching.breaker import breaker_for
from backend.caching.models import CacheOutage
from backend.caching.store import pending_counters
from workers.cache import recover_cache

pytestmark = [pytest.mark.redis, pytest.mark.django_db]

ME = "/api/v1/auth/me/"


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


# The token's entry (auth:token, backend/accounts/authentication.py) under each way Redis fails: a
# logout or a deactivation whose invalidation is lost must still end access on the next request.
TOKEN_FAULTS = ("stopped", "paused", "client_paused", "paused_for_writes", "out_of_memory")
CLIENT_PAUSE_MS = 1500  # CLIENT PAUSE ... ALL cannot be lifted (UNPAUSE waits too): it lasts this long


def _inject(server, fault: str):
    """Start ``fault`` on ``server``; returns what ends it."""
    control = redis.Redis.from_url(server.url, socket_timeout=5)
    if fault == "stopped":
        server.stop()
        return server.start
    if fault == "paused":  # SIGSTOP: connections accepted, nothing answered
        server.pause()
        return server.resume
    if fault == "client_paused":
        control.execute_command("CLIENT", "PAUSE", CLIENT_PAUSE_MS, "ALL")
        ends_at = time.monotonic() + CLIENT_PAUSE_MS / 1000
        return lambda: time.sleep(max(0.0, ends_at - time.monotonic()) + 0.1)
    if fault == "paused_for_writes":  # half available: reads answered, writes wait
        control.execute_command("CLIENT", "PAUSE", 600_000, "WRITE")
        return lambda: control.execute_command("CLIENT", "UNPAUSE")
    assert fault == "out_of_memory"  # half available: reads answered, writes refused
    control.config_set("maxmemory-policy", "noeviction")
    control.config_set("maxmemory", 1)
    return lambda: control.config_set("maxmemory", 0)


def _logout(client, user):
    assert client.post("/api/v1/auth/logout/").status_code == 204  # acknowledged


def _deactivate(client, user):
    user.is_active = False
    user.save()


@pytest.mark.parametrize("fault", TOKEN_FAULTS)
@pytest.mark.parametrize("revoke", [_logout, _deactivate], ids=["logout", "deactivated"])
def test_a_token_revoked_while_redis_fails_is_refused_on_the_next_request_and_after(
    own_redis, client_for, user, fault, revoke, django_capture_on_commit_callbacks, django_assert_num_queries
):
    client = client_for(user)
    assert client.get(ME).status_code == 200
    with django_assert_num_queries(0):
        assert client.get(ME).status_code == 200  # the token's entry is warm

    end_fault = _inject(own_redis, fault)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            revoke(client, user)  # its invalidation is lost, and recorded
        during = []
        for _ in range(5):
            # The rule's worst case: the circuit closed again (a read probe succeeded) and nothing but
            # the read to send (no pending counters, which are writes), so a half-available Redis
            # answers it: only the lost invalidation, not yet replayed, keeps the old entry unserved.
            breaker_for("redis").reset()
            pending_counters.drain()
            during.append(client.get(ME))
    finally:
        end_fault()
    time.sleep(0.3)  # the breaker's cooldown (0.2 s here): the next call probes
    probe = APIClient().get("/api/v1/jobs/")  # anonymous: a probe that finds Redis back and replays
    assert probe.status_code == 200, probe.content
    recover_cache()  # beat's replay, in case no probe ran it
    after = [client.get(ME) for _ in range(3)]

    assert [r.status_code for r in during] == [401] * 5, [r.content for r in during]
    assert [r.status_code for r in after] == [401] * 3, [r.content for r in after]
    assert not CacheOutage.objects.exists()


@pytest.mark.django_db(transaction=True)  # outside a test transaction, cachalot writes to Redis itself
def test_while_redis_is_down_only_invalidations_are_recorded_for_replay(own_redis, client_for, user):
    # One web node's Redis cut must not take every other node off the cache (tests/scale/test_several_nodes.py):
    # reads make cache writes too (cachalot storing a query's result, the throttles' counts), and their loss
    # needs no replay. A write's invalidations still do.
    client = client_for(user)
    own_redis.stop()
    reads = [
        client.get(path) for path in (ME, f"/api/v1/users/{user.id}/profile/", "/api/v1/jobs/", "/api/v1/me/jobs/")
    ]
    reads += [APIClient().get("/api/v1/jobs/") for _ in range(2)]  # anonymous: the address's throttle count

    assert [r.status_code for r in reads] == [200] * 6
    assert breaker_for("redis").is_open
    # cachalot's own read-or-fill, through a closed circuit (the first call after a cooldown, say)
    breaker_for("redis").reset()
    assert Profile.objects.filter(user=user).count() == 1
    breaker_for("redis").reset()
    assert [p.user_id for p in Profile.objects.filter(user=user)] == [user.id]

    assert outage.last_lost_write() is None
    assert not CacheOutage.objects.exists(), list(CacheOutage.objects.values_list("reason", flat=True))

    assert client.patch("/api/v1/me/profile/", {"city": "Ilorin"}).status_code == 200
    assert outage.last_lost_write() is not None
    assert CacheOutage.objects.count() == 1  # the profile's invalidation, lost: on record for replay
