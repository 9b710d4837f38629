"""State changed for the duration of a build, request or task is restored on every exit path (issue 17).

The kind: a block changes process or thread state, raises, and the state stays changed for the rest of
the process's life. One test per place found, each showing the *next* request or call behaves as before:

- cachalot's per-thread flag around a hot-cache build (the issue's example), on a miss through the API;
  the worker's rebuild task is in ``tests/workers/test_rebuild_worker.py``;
- cachalot's per-thread atomic-cache stack when ``Atomic.__enter__`` raises;
- the circuit breaker's half-open probe when the probing call raises something that is not a Redis
  failure (two entry points: Django's cache API, the hot store);
- the per-connection invalidation batch when the commit-time bump raises (the keys leave the batch:
  the loss must be recorded for replay).

Transactional tests: the suite's usual per-test transaction keeps cachalot's entries in memory until
commit, and these tests are about what reaches Redis in autocommit, as in production.
"""

import dataclasses
import pickle
import threading

import pytest
from billiard.exceptions import SoftTimeLimitExceeded
from django.core.cache import caches
from django.db import transaction
from django.test import override_settings
from redis.exceptions import LockError

from backend.accounts.models import User
from backend.caching import registry
from backend.caching.breaker import breaker_for
from backend.caching.invalidation import flush
from backend.caching.models import CacheOutage
from backend.caching.store import RedisStore, get_store
from backend.common.orm_cache import cachalot_state
from tests.factories import make_user
from tests.observability.test_server_timing import timing

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def make_profile_builds_raise(monkeypatch, builder_threads: list | None = None) -> registry.HotView:
    """Every ``profile:user`` build reads the database, then raises (a builder bug: a total that
    overflows its field, as account-details builds did; not a database error, which the worker retries).

    Returns the real declaration, to put back with ``monkeypatch.setitem``. ``builder_threads``
    collects the ident of each thread that ran a failing build.
    """
    view = registry.get("profile:user")

    def build(key_id: int):
        if builder_threads is not None:
            builder_threads.append(threading.get_ident())
        list(User.objects.filter(pk=key_id))
        raise ArithmeticError("a total overflows its field")

    monkeypatch.setitem(registry._registry, view.namespace, dataclasses.replace(view, build=build))
    return view


@override_settings(SERVER_TIMING_ENABLED=True, HOT_CACHE_WORKER_REBUILD=False)  # the next read builds
def test_a_build_that_raises_leaves_cachalot_on_for_the_next_request(
    client_for, monkeypatch, django_assert_num_queries
):
    if "Redis" not in type(caches["default"]).__name__:
        pytest.skip("needs REDIS_URL: cachalot on the real cache")
    owner, stranger = make_user(), make_user()
    client = client_for(owner)
    client.get(f"/api/v1/users/{owner.id}/profile/")  # token and payload into the hot store
    list(User.objects.filter(pk=owner.pk))  # a read-mostly table's query into cachalot
    with django_assert_num_queries(0):
        before = client.get(f"/api/v1/users/{owner.id}/profile/")
        list(User.objects.filter(pk=owner.pk))
    assert timing(before)["cachalot"]["desc"] == "0 hits"  # the token came from the hot store

    # when a build on a miss raises (through the API, in this thread)
    view = make_profile_builds_raise(monkeypatch)
    client.raise_request_exception = False
    assert client.get(f"/api/v1/users/{stranger.id}/profile/").status_code == 500
    monkeypatch.setitem(registry._registry, view.namespace, view)

    # then the same thread serves the token and the payload from the hot store, and cachalot its
    # query, as before
    with django_assert_num_queries(0):
        after = client.get(f"/api/v1/users/{owner.id}/profile/")
        list(User.objects.filter(pk=owner.pk))
    assert after.status_code == 200
    assert cachalot_state()["enabled"] is True


def test_a_failed_atomic_enter_leaves_no_cachalot_level_behind(user):
    if "Redis" not in type(caches["default"]).__name__:
        pytest.skip("needs REDIS_URL: cachalot on the real cache")
    redis = caches["default"].client.get_client(write=True)

    # when Django's Atomic.__enter__ raises (here a durable block nested by mistake; in production
    # BEGIN refused while PostgreSQL restarts), after cachalot pushed its atomic-cache level
    with transaction.atomic(), pytest.raises(RuntimeError), transaction.atomic(durable=True):
        pass

    # then this thread has no transaction open and cachalot agrees
    assert cachalot_state()["open_atomic_levels"] == 0
    # and its reads and invalidations reach Redis again instead of a dict in process memory
    keys_before = redis.dbsize()
    assert User.objects.filter(pk=user.pk, is_active=True).exists()
    assert redis.dbsize() > keys_before


def _undecodable_cache_value(redis_store: RedisStore) -> None:
    """Django's cache API meets a value it cannot unpickle (written by another program or version)."""
    cache = caches["default"]
    redis_store.client.set(cache.make_and_validate_key("foreign"), b"\x80\x05not a pickle")
    with pytest.raises(pickle.UnpicklingError):
        cache.get("foreign")


def _store_call_interrupted(redis_store: RedisStore) -> None:
    """A worker's soft time limit fires inside a hot-store call."""

    def interrupted(client):
        raise SoftTimeLimitExceeded()

    with pytest.raises(SoftTimeLimitExceeded):
        redis_store._call(interrupted, None, write=False)


def _counter_missing(redis_store: RedisStore) -> None:
    """A rate limit's ``incr`` at the start of a new window: django-redis raises ValueError, Redis answered.

    Seen in CI: this call took the probe and the circuit stayed open for another whole cooldown.
    """
    with pytest.raises(ValueError, match="not found"):
        caches["default"].incr("a-window-that-has-not-started")


def _lock_not_owned(redis_store: RedisStore) -> None:
    """redis-py's own answer for a lock: releasing one that is not held raises LockError."""
    with pytest.raises(LockError):
        caches["default"].lock("nobody-holds-this").release()


@pytest.mark.parametrize(
    "probe", [_undecodable_cache_value, _store_call_interrupted, _counter_missing, _lock_not_owned]
)
def test_a_half_open_probe_that_raises_does_not_keep_the_breaker_open(probe, monkeypatch):
    store = get_store()
    if not isinstance(store, RedisStore):
        pytest.skip("needs REDIS_URL: the breaker guards Redis")
    breaker = breaker_for("redis")
    # a long cooldown, already over: the next call probes, and if that probe were left hanging the
    # breaker would refuse every call for another minute (an abandoned probe's expiry)
    monkeypatch.setattr(breaker, "cooldown", 60.0)
    breaker.record_failure(ConnectionError("Redis restarted"))
    breaker._opened_at -= 61.0  # (not monkeypatched: teardown would reopen the closed breaker)

    # when the probing call raises something that is neither success nor a Redis failure
    probe(store)

    # then a later call probes again, finds Redis answering and closes the breaker
    assert store.epoch() is not None
    assert not breaker.is_open


def test_a_bump_that_raises_at_commit_is_recorded_for_replay(user, monkeypatch):
    store = get_store()

    def interrupted(*args, **kwargs):
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(type(store), "bump", interrupted)

    flush({("profile:user", user.id)})

    assert CacheOutage.objects.count() == 1
