"""Rate limits: who a client is, and an atomic counter per client and window.

Who a client is (``client_address``)
    The address the nearest *trusted* proxy saw. ``REST_FRAMEWORK["NUM_PROXIES"]``
    (``DJANGO_NUM_PROXIES``) says how many proxies in front of the app append to
    ``X-Forwarded-For``: 0 (``make run``, tests) means the TCP peer (``REMOTE_ADDR``) and no
    header is read; 1 (production's default: a Heroku-style router) means the last entry, the
    one the router appended. Entries to its left, ``X-Real-IP`` and ``Forwarded`` are written by
    the client and never read. An entry that is not an IP address (the request did not come
    through the proxy) falls back to the TCP peer. IPv6 addresses count per /64: one subscriber
    gets a whole /64, so a single address would be a limit per request.

How requests are counted (``hit``)
    A fixed window per scope and client: ``INCR`` of ``throttle:<scope>:<ident>:<window>`` in the
    shared cache (Redis in production), created with ``add`` on the window's first request. Both
    are atomic in Redis, so concurrent requests are counted exactly: none gets past a full window
    (DRF's ``SimpleRateThrottle`` reads a list of timestamps and writes it back, so requests that
    arrive together all pass). A fixed window allows up to twice the rate across a window boundary
    (the end of one window and the start of the next); docs/reliability.md states both figures.

    Written here rather than taken from django-ratelimit (which counts the same way): its limiter
    reads one cache and, when that cache fails, either lets every request through or refuses
    every request (``RATELIMIT_FAIL_OPEN``). We want neither during a Redis outage.

When the cache cannot count (Redis down, paused, refusing writes)
    The limit is kept per process, in process memory: a client gets at most the rate from each
    web process, the API keeps answering (no 429 for everyone, no 500), and the limit is shared
    again as soon as Redis answers.
"""

import ipaddress
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.http import JsonResponse
from rest_framework import exceptions
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

from backend.common import cache_writes

IPV6_PREFIX = 64
# Counts kept while the shared cache cannot count, one window each: bounded in memory.
_process_counts = LocMemCache("paeshift-throttle-fallback", {"TIMEOUT": 3600, "OPTIONS": {"MAX_ENTRIES": 50_000}})


def client_address(request) -> str:
    """The client's address for rate limits (see the module's docstring); an IPv6 client's /64 network."""
    ident = BaseThrottle().get_ident(request)  # honours NUM_PROXIES
    try:
        address = ipaddress.ip_address((ident or "").strip())
    except ValueError:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR") or "0.0.0.0")
    if address.version == 6:
        if address.ipv4_mapped:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/{IPV6_PREFIX}", strict=False))
    return str(address)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    count: int  # requests counted in this window, this one included
    retry_after: int  # seconds until the window ends (at least 1)


def _increment(cache, key: str, timeout: int) -> int | None:
    """Add one to ``key``'s count; None when ``cache`` could not count (it failed)."""
    for _ in range(2):
        try:
            value = cache.incr(key)
        except ValueError:  # no such key: the window's first request (or a cache that failed)
            if cache.add(key, 1, timeout):
                return 1
            continue  # created meanwhile by a concurrent request, or the cache failed: incr again
        return value if isinstance(value, int) else None
    return None


def hit(scope: str, ident: str, *, limit: int, period: int, now: float | None = None) -> Decision:
    """Count one request of ``ident`` in ``scope``; allowed while the window holds at most ``limit``.

    ``period`` is the window's length in seconds. Uses the default cache; the process's own
    counts when it fails.
    """
    now = time.time() if now is None else now
    window = int(now // period)
    key = f"throttle:{scope}:{ident}:{window}"
    timeout = period + 1  # outlives its window a little, never much
    with cache_writes.not_an_invalidation():  # a lost count only lets a request through: nothing to replay
        count = _increment(caches["default"], key, timeout)
    if count is None:
        count = _increment(_process_counts, key, timeout)
    retry_after = max(1, math.ceil((window + 1) * period - now))
    return Decision(allowed=count <= limit, count=count, retry_after=retry_after)


class _CountingThrottle(SimpleRateThrottle):
    """DRF's rate syntax and cache keys, counted by ``hit``.

    The rate is read from the settings at each request (DRF copies it onto the class once, at
    import), so a changed setting applies at once.
    """

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_ident(self, request):
        return client_address(request)

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        ident = self.get_cache_key(request, view)
        if ident is None:
            return True
        self.decision = hit(self.scope, ident, limit=self.num_requests, period=self.duration)
        return self.decision.allowed

    def wait(self):
        return self.decision.retry_after

    def get_cache_key(self, request, view):
        """The client's identity within the scope: the user's id once authenticated, else the address."""
        if request.user and request.user.is_authenticated:
            return f"user:{request.user.pk}"
        return f"addr:{self.get_ident(request)}"


class AuthRateThrottle(_CountingThrottle):
    """``auth`` (``DJANGO_AUTH_THROTTLE_RATE``): every request that sends a password or creates an account.

    One budget per client for all of them: the API's register, token and logout, and the admin's
    login, password-change and add-user forms (``AuthThrottleMiddleware``).
    """

    scope = "auth"


class AnonRateThrottle(_CountingThrottle):
    """``anon`` (``DJANGO_ANON_THROTTLE_RATE``): every anonymous API request, per client address."""

    scope = "anon"

    def get_cache_key(self, request, view):
        if request.user and request.user.is_authenticated:
            return None
        return super().get_cache_key(request, view)


class UserRateThrottle(_CountingThrottle):
    """``user`` (``DJANGO_USER_THROTTLE_RATE``, off unless set): every authenticated API request, per user."""

    scope = "user"

    def get_cache_key(self, request, view):
        if request.user and request.user.is_authenticated:
            return super().get_cache_key(request, view)
        return None


def throttled_response(wait: int) -> JsonResponse:
    """A 429 in the API's error shape, for views outside DRF (the admin's forms)."""
    detail = exceptions.Throttled(wait=wait).detail
    response = JsonResponse(
        {"type": "client_error", "errors": [{"code": "throttled", "detail": str(detail), "attr": None}]},
        status=429,
    )
    response["Retry-After"] = str(wait)
    return response


class AuthThrottleMiddleware:
    """The ``auth`` limit on the Django admin's forms that take a password or create an account.

    Only POSTs count (showing a form checks nothing). The views are named in
    ``settings.AUTH_THROTTLED_VIEWS`` (``namespace:url_name``); the API's own views use
    ``AuthRateThrottle`` directly. Must come after the authentication middleware, so that a
    logged-in admin's forms count per user, as the API counts logout.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if request.method != "POST" or match is None or match.view_name not in settings.AUTH_THROTTLED_VIEWS:
            return None
        throttle = AuthRateThrottle()
        if throttle.allow_request(request, None):
            return None
        return throttled_response(throttle.wait())
