"""The figures of a request, counted where they happen: no HTTP here.

``measure()`` counts, for the code inside it, database statements and their time (every cursor
execute, plus BEGIN / COMMIT / ROLLBACK), the ORM reads cachalot answered from its cache, the Redis
round trips of the cache layer (``count_cache_round_trip``, called by ``backend.caching``) and the
EXPLAINs a profiler sent. ``backend.observability.server_timing`` turns one request's figures into
the ``Server-Timing`` header; the performance report reads them directly. Outside ``measure()``
``count_cache_round_trip`` is one ContextVar read.
"""

import functools
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from contextvars import ContextVar

from django.db import connections

from backend.common.db_routing import REPLAY_CHECK_SQL, REPLICA


class RequestMeter:
    """The figures of one request (or of one ``measure()`` block)."""

    __slots__ = (
        "cachalot_hits",
        "db_queries",
        "db_seconds",
        "profiler_queries",
        "profiler_seconds",
        "redis_round_trips",
        "replica_queries",
    )

    def __init__(self) -> None:
        self.db_queries = 0
        self.db_seconds = 0.0
        self.cachalot_hits = 0
        self.redis_round_trips = 0
        self.profiler_queries = 0
        self.profiler_seconds = 0.0
        self.replica_queries = 0

    def __call__(self, execute, sql, params, many, context):
        """A database execute wrapper (``connection.execute_wrapper``): counts and times statements."""
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            elapsed = time.perf_counter() - start
            # No request of this application runs EXPLAIN; a profiler does (silk, per recorded query).
            if isinstance(sql, str) and sql[:7].upper() == "EXPLAIN":
                self.profiler_queries += 1
                self.profiler_seconds += elapsed
            else:
                self.db_queries += 1
                self.db_seconds += elapsed
                if context["connection"].alias == REPLICA and sql != REPLAY_CHECK_SQL:
                    self.replica_queries += 1


_current: ContextVar[RequestMeter | None] = ContextVar("server_timing_meter", default=None)


def count_cache_round_trip() -> None:
    """Called by the cache layer once per Redis call; does nothing unless a request is measured."""
    meter = _current.get()
    if meter is not None:
        meter.redis_round_trips += 1


def install_hooks() -> None:
    """Install, once, the two hooks that see what an execute wrapper cannot.

    Both replace a module-level function that their caller looks up as a global at each call,
    so the original code path is unchanged apart from one ContextVar read when no request is
    being measured. ``tests/observability/test_server_timing.py`` fails if an upgrade moves either.
    """
    _install_transaction_hook()
    _install_cachalot_hook()


def _install_transaction_hook() -> None:
    """Count BEGIN, COMMIT and ROLLBACK as database statements.

    Django sends these through the driver, not through a cursor, so execute wrappers never see
    them; it times and logs them (to ``connection.queries``, which ``django_assert_num_queries``
    reads) with ``django.db.backends.utils.debug_transaction``, called from
    ``django.db.backends.base.base``. Wrapping that one function keeps ``db`` equal to Django's
    own count: a write in autocommit costs its COMMIT (and on PostgreSQL its BEGIN) too.
    """
    from django.db.backends.base import base

    original = base.debug_transaction
    if getattr(original, "_counted_by_server_timing", False):
        return

    @contextmanager
    def debug_transaction(connection, sql):
        meter = _current.get()
        if meter is None:
            with original(connection, sql):
                yield
            return
        start = time.perf_counter()
        try:
            with original(connection, sql):
                yield
        finally:
            meter.db_queries += 1
            meter.db_seconds += time.perf_counter() - start

    debug_transaction._counted_by_server_timing = True
    base.debug_transaction = debug_transaction


def _install_cachalot_hook() -> None:
    """Count the ORM reads cachalot answers from its cache.

    cachalot has no signal for a hit. It wraps ``SQLCompiler.execute_sql``, and its wrapper hands
    every cachable query to one module-level function, ``_get_result_or_execute_query(
    execute_query_func, cache, cache_key, table_cache_keys)``, which either returns the stored
    result or calls ``execute_query_func`` to run the query. Replacing that module attribute
    intercepts exactly the decision: a hit is a call that returned without running the query.
    This is narrower than wrapping the compiler once more (a compiler execution that never
    reaches the cursor can also be Django's own empty-result shortcut, which is no cache hit) and
    adds nothing to the queries cachalot does not consider.
    """
    from cachalot import monkey_patch

    original = monkey_patch._get_result_or_execute_query
    if getattr(original, "_counted_by_server_timing", False):
        return

    @functools.wraps(original)
    def get_result_or_execute_query(execute_query_func, *args, **kwargs):
        meter = _current.get()
        if meter is None:
            return original(execute_query_func, *args, **kwargs)
        executed = False

        def execute_query():
            nonlocal executed
            executed = True
            return execute_query_func()

        result = original(execute_query, *args, **kwargs)
        if not executed:
            meter.cachalot_hits += 1
        return result

    get_result_or_execute_query._counted_by_server_timing = True
    monkey_patch._get_result_or_execute_query = get_result_or_execute_query


@contextmanager
def measure() -> Iterator[RequestMeter]:
    """Measure the block: database statements and time, cachalot hits, Redis round trips."""
    install_hooks()
    meter = RequestMeter()
    token = _current.set(meter)
    try:
        with ExitStack() as stack:
            for alias in connections:
                stack.enter_context(connections[alias].execute_wrapper(meter))
            yield meter
    finally:
        _current.reset(token)
