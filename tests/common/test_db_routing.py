"""The read replica's routing decision (backend/common/db_routing.py), without a replica server: who
reads the replica, and when the cache that holds the write markers cannot be trusted. The routing
against a real streaming replica is tests/scale/test_read_replica.py."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import DEFAULT_DB_ALIAS, transaction
from django.http import HttpRequest
from django.test import override_settings
from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from backend.accounts.models import User
from backend.caching.breaker import breaker_for
from backend.common import db_routing
from backend.common.db_routing import REPLICA, RequestReads, alias_for_user
from tests.factories import make_user

pytestmark = pytest.mark.redis


@pytest.fixture
def old_user(db, user):
    User.objects.filter(pk=user.pk).update(date_joined=timezone.now() - timedelta(days=3))
    user.refresh_from_db()
    return user


@pytest.fixture
def cache_redis(own_redis):
    breaker = breaker_for("redis")
    breaker.reset()
    yield own_redis
    breaker.reset()


def test_anonymous_and_unmarked_users_read_the_replica_new_users_the_primary(cache_redis, old_user):
    assert alias_for_user(AnonymousUser()) == REPLICA
    assert alias_for_user(old_user) == REPLICA
    newcomer = make_user(email="new@example.com")
    with override_settings(DATABASE_REPLICA_STICKY_SECONDS=60):
        assert alias_for_user(newcomer) == DEFAULT_DB_ALIAS


def test_a_cache_that_cannot_answer_sends_reads_to_the_primary(cache_redis, old_user):
    cache_redis.stop()  # the marker cannot be read: "no marker" is not known
    assert alias_for_user(old_user) == DEFAULT_DB_ALIAS
    assert breaker_for("redis").is_open
    assert alias_for_user(AnonymousUser()) == REPLICA  # nothing of theirs to see


def test_reads_before_the_requester_is_known_go_to_the_primary_and_are_decided_once_known(cache_redis, old_user):
    request = HttpRequest()
    reads = RequestReads(request)
    assert reads.alias_for_read() == DEFAULT_DB_ALIAS  # no user yet: authentication's own reads
    request.user = SimpleLazyObject(lambda: old_user)  # django.contrib.auth's, not evaluated
    assert reads.alias_for_read() == DEFAULT_DB_ALIAS
    request.user = old_user  # what DRF sets once it has authenticated
    assert reads.alias_for_read() == REPLICA
    assert reads.alias == REPLICA  # one decision per request


def test_inside_primary_and_outside_requests_every_read_is_on_the_primary(monkeypatch):
    router = db_routing.ReplicaRouter()
    monkeypatch.setattr(db_routing, "replica_configured", lambda: True)
    reads = RequestReads(HttpRequest())
    reads.alias = REPLICA  # a request already decided for the replica
    assert router.db_for_read(User) == DEFAULT_DB_ALIAS  # no request: workers, beat, commands
    token = db_routing._request_reads.set(reads)
    try:
        assert router.db_for_read(User) == REPLICA
        with db_routing.primary():
            assert router.db_for_read(User) == DEFAULT_DB_ALIAS
        assert router.db_for_write(User) == DEFAULT_DB_ALIAS
        assert router.allow_migrate(REPLICA, "accounts") is False
    finally:
        db_routing._request_reads.reset(token)


@pytest.mark.django_db(transaction=True)
def test_reads_inside_a_transaction_are_on_the_primary(monkeypatch):
    router = db_routing.ReplicaRouter()
    monkeypatch.setattr(db_routing, "replica_configured", lambda: True)
    reads = RequestReads(HttpRequest())
    reads.alias = REPLICA
    token = db_routing._request_reads.set(reads)
    try:
        assert router.db_for_read(User) == REPLICA
        with transaction.atomic():  # a service's read-modify-write
            assert router.db_for_read(User) == DEFAULT_DB_ALIAS
    finally:
        db_routing._request_reads.reset(token)
