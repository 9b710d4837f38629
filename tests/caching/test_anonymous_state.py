"""What anonymous requests can make the server store in Redis is bounded (issue 11, kind 6, cache side).

Anonymous requests for random ids on every path that serves a hot view (random cities on the open-jobs
feed, whose keys are cities), and requests with random tokens, then every key in the cache's Redis
database is checked against the bound docs/caching.md ("Bounds") gives its kind: a lifetime (TTL) or
a count. A key of a kind the table does not know fails the test, so a new kind of anonymous state has
to be bounded and documented before it ships.

Transactional: cachalot writes to Redis only outside a transaction, as in production.
"""

import random
import re

import pytest
from django.conf import settings
from django.core.cache import caches
from rest_framework.settings import api_settings
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from tests.caching.test_hot_endpoints import FEED, PATHS

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]

REQUESTS_PER_PATH = 8


def _longest_throttle_window() -> float:
    rates = api_settings.DEFAULT_THROTTLE_RATES.values()
    return max((SimpleRateThrottle.parse_rate(None, rate)[1] for rate in rates if rate), default=0)


def _bounds() -> list[tuple[re.Pattern, str, float]]:
    """(key pattern, what it is, longest TTL in seconds); ``inf`` marks the count-bounded keys."""
    cachalot = float(settings.CACHALOT_TIMEOUT)
    return [
        (
            re.compile(rb"hc:.+:\d+:[gp]"),
            "generation or payload of an id that does not exist",
            settings.HOT_CACHE_NOT_FOUND_TTL,
        ),
        (re.compile(rb"hc:.+:\d+:l"), "build lock", settings.HOT_CACHE_LOCK_TIMEOUT),
        (re.compile(rb"hc:pop:.+"), "popularity, one sorted set per namespace", float("inf")),
        (re.compile(rb"hc:stats:.+"), "counters, one hash per namespace", float("inf")),
        (re.compile(rb"hc:epoch"), "the epoch, one key", float("inf")),
        # backend/ops/ops_store.py: fields per URL pattern name x method x status x histogram bucket
        (re.compile(rb"ops:http"), "request counters, one hash", float("inf")),
        (re.compile(rb"ops:beat:last_publish"), "beat's heartbeat, one key", float("inf")),
        (re.compile(rb".*throttle[_:].*"), "a rate-limit window", _longest_throttle_window() + 1),
        # cachalot: one entry per distinct query (a random token is one), one per table it reads
        (re.compile(rb":\d+:[0-9a-f]{40}"), "cachalot query or table entry", cachalot),
    ]


def test_anonymous_requests_for_random_ids_and_tokens_leave_only_bounded_state(api_client):
    redis = caches["default"].client.get_client(write=True) if hasattr(caches["default"], "client") else None
    if redis is None:
        pytest.skip("needs REDIS_URL: the bound is about what lands in Redis")
    rng = random.Random(11)
    paths = [path for namespace_paths in PATHS.values() for path in namespace_paths]

    # when anonymous clients ask for ids that do not exist, on every hot path, and send made-up tokens
    for path in paths:
        for _ in range(REQUESTS_PER_PATH):
            if path in PATHS[FEED]:  # a city with no open job: the empty page, kept as a 404
                response = api_client.get(path, {"city": rng.randbytes(8).hex()})
                assert (response.status_code, response.json()["count"]) == (200, 0)
                continue
            response = api_client.get(path.format(id=rng.randrange(10**6, 10**9)))
            assert response.status_code in (401, 404), (path, response.status_code)
    for _ in range(REQUESTS_PER_PATH):
        client = APIClient(HTTP_AUTHORIZATION=f"Token {rng.randbytes(20).hex()}")
        assert client.get("/api/v1/auth/me/").status_code == 401

    # then every key they left has a documented bound, by lifetime or by count
    bounds = _bounds()
    unbounded, too_long = [], []
    for key in redis.scan_iter(count=1000):
        kind = next(((what, limit) for pattern, what, limit in bounds if pattern.fullmatch(key)), None)
        if kind is None:
            unbounded.append(key)
            continue
        what, limit = kind
        ttl = redis.pttl(key) / 1000
        if limit == float("inf"):
            continue
        if not 0 < ttl <= limit:
            too_long.append((key, what, ttl, limit))
    assert not unbounded, f"keys of no documented kind: {unbounded[:10]}"
    assert not too_long, too_long[:10]
    for key in redis.scan_iter(match="hc:pop:*"):
        assert redis.zcard(key) <= settings.HOT_CACHE_POPULARITY_KEEP
