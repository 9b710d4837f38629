"""``Server-Timing`` on every response: what a request cost, measured where it happened.

One header per response, standard names with ``desc``::

    Server-Timing: cache;desc="hit", db;dur=0.00;desc="0 queries", cachalot;desc="1 hit",
                   redis;desc="2 round trips", app;dur=1.42

- ``cache``: the hot-cache outcome (hit, miss, bypass), on hot views only.
- ``db``: statements that reached the database and their total time: every cursor execute
  (so a query cachalot answered is not one of them) plus BEGIN / COMMIT / ROLLBACK, i.e. what
  ``django_assert_num_queries`` counts (SAVEPOINTs included).
- ``replica``: how many of ``db``'s statements the read replica answered for the application
  (``DATABASE_REPLICA_URL``, backend/common/db_routing.py; the router's own replay-position check
  is in ``db`` only). Shown only when non-zero.
- ``cachalot``: ORM reads cachalot answered from the cache instead of the database.
  Followed by ``, off`` (``cachalot;desc="0 hits, off"``) when cachalot cannot serve reads in the
  thread that served the request (off in settings, or its per-thread flag off as the response
  leaves): a thread that lost cachalot to a failed build would say so on its next response.
- ``redis``: calls to Redis made by the cache layer (a pipeline is one call: one round trip).
  Always 0 on the in-process cache.
- ``profiler``: EXPLAIN statements a profiler (django-silk explains every query it records) sent
  to the database inside the request; kept out of ``db`` so that ``db`` is the application's own
  figure whether or not silk is on. Shown only when non-zero.
- ``app``: wall time spent inside this middleware, which sits innermost (after silk), so silk's
  bookkeeping before and after the view is not in it.

Switched on by ``SERVER_TIMING_ENABLED``. When off, Django drops the middleware at start-up
(MiddlewareNotUsed), the meter's hooks (``backend.observability.meter``) are never installed, and
the cache layer's round-trip counter is one ContextVar read per Redis call. ``meter.measure()``
gives the same figures to code that is not a request (the performance report).
"""

import time

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed

from backend.common.orm_cache import cachalot_state
from backend.observability.meter import RequestMeter, install_hooks, measure


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def header_value(
    meter: RequestMeter,
    *,
    total_seconds: float,
    hot_cache_outcome: str | None = None,
    cachalot_enabled: bool | None = None,
) -> str:
    parts = []
    if hot_cache_outcome:
        parts.append(f'cache;desc="{hot_cache_outcome}"')
    parts.append(f'db;dur={meter.db_seconds * 1000:.2f};desc="{_count(meter.db_queries, "query", "queries")}"')
    if meter.replica_queries:
        parts.append(f'replica;desc="{_count(meter.replica_queries, "query", "queries")}"')
    cachalot = _count(meter.cachalot_hits, "hit", "hits") + (", off" if cachalot_enabled is False else "")
    parts.append(f'cachalot;desc="{cachalot}"')
    parts.append(f'redis;desc="{_count(meter.redis_round_trips, "round trip", "round trips")}"')
    if meter.profiler_queries:
        explains = _count(meter.profiler_queries, "EXPLAIN query", "EXPLAIN queries")
        parts.append(f'profiler;dur={meter.profiler_seconds * 1000:.2f};desc="{explains}"')
    parts.append(f"app;dur={total_seconds * 1000:.2f}")
    return ", ".join(parts)


class ServerTimingMiddleware:
    def __init__(self, get_response):
        if not settings.SERVER_TIMING_ENABLED:
            raise MiddlewareNotUsed
        install_hooks()
        self.get_response = get_response

    def __call__(self, request):
        start = time.perf_counter()
        with measure() as meter:
            response = self.get_response(request)
        response["Server-Timing"] = header_value(
            meter,
            total_seconds=time.perf_counter() - start,
            hot_cache_outcome=getattr(response, "hot_cache_outcome", None),
            cachalot_enabled=cachalot_state()["enabled"],
        )
        return response
