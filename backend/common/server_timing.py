"""``Server-Timing`` on every response: hot-cache outcome, database time and query count.

Counts the queries that reached the database (a query cachalot answered never reaches the
cursor, so it is not counted). Installed always, active only when ``SERVER_TIMING_ENABLED``:
when off, Django drops it at start-up (MiddlewareNotUsed), so it costs nothing.
"""

import time
from contextlib import ExitStack

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.db import connections


class _QueryMeter:
    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0

    def __call__(self, execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - start
            self.count += 1


class ServerTimingMiddleware:
    def __init__(self, get_response):
        if not settings.SERVER_TIMING_ENABLED:
            raise MiddlewareNotUsed
        self.get_response = get_response

    def __call__(self, request):
        meter = _QueryMeter()
        start = time.perf_counter()
        with ExitStack() as stack:
            for alias in connections:
                stack.enter_context(connections[alias].execute_wrapper(meter))
            response = self.get_response(request)
        total_ms = (time.perf_counter() - start) * 1000
        parts = []
        outcome = getattr(response, "hot_cache_outcome", None)
        if outcome:
            parts.append(f'cache;desc="{outcome}"')
        parts.append(f'db;dur={meter.seconds * 1000:.2f};desc="{meter.count} queries"')
        parts.append(f"app;dur={total_ms:.2f}")
        response["Server-Timing"] = ", ".join(parts)
        return response
