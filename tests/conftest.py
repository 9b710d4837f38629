"""Shared fixtures.

Services given to the run by URL (``DATABASE_URL``, ``REDIS_URL``; CI gives both) must answer:
an unreachable service fails the run instead of silently skipping tests.
"""

import os

import pytest
from django.core.cache import caches
from django.test import override_settings
from rest_framework.test import APIClient

from config.settings.base import redis_cache
from tests.factories import make_user
from tests.redis_server import RedisServer


def pytest_sessionstart(session):
    redis_url = os.environ.get("REDIS_URL")
    if redis_url:
        import redis

        try:
            redis.Redis.from_url(redis_url, socket_connect_timeout=2).ping()
        except redis.RedisError as exc:
            raise pytest.UsageError(f"REDIS_URL={redis_url} was given but Redis does not answer: {exc}") from exc


def _clear_all_caches() -> None:
    from backend.caching import outage
    from backend.caching.breaker import _breakers
    from backend.caching.store import get_store

    for breaker in _breakers.values():
        breaker.reset()
    outage.reset()
    for cache in caches.all():
        cache.clear()
    get_store().clear()


@pytest.fixture(autouse=True)
def _clear_caches():
    _clear_all_caches()
    yield
    _clear_all_caches()


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def user(db):
    return make_user(email="owner@example.com")


@pytest.fixture
def other_user(db):
    return make_user(email="other@example.com")


@pytest.fixture
def staff_user(db):
    return make_user(email="staff@example.com", is_staff=True)


@pytest.fixture
def client_for():
    """``client_for(user)``: an API client authenticated with a real token, as mobile clients are.

    Token authentication (backend/accounts/authentication.py) costs DRF's one query when the token's
    ``auth:token`` entry is cold and none once it is warm; the exact query counts include it.
    """
    from rest_framework.authtoken.models import Token

    def build(user) -> APIClient:
        client = APIClient()
        if user is not None:
            token, _ = Token.objects.get_or_create(user=user)
            client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return build


@pytest.fixture
def own_redis():
    """A private redis-server as the cache, for tests that stop, pause or fill it (the machine's
    shared Redis is never touched)."""
    server = RedisServer()
    server.start()
    try:
        with override_settings(CACHES={"default": redis_cache(server.url)}):
            yield server
    finally:
        server.close()
