"""Cache writes that are not invalidations: their loss needs no replay.

A write to the Django cache that fails (Redis down, the circuit open) is recorded as a lost
invalidation by ``backend.caching.backends`` (docs/caching.md, "Failures"): until it is replayed,
no process serves a read from the cache, because for all the cache API can tell, the write was the
one that made an entry stale. Two kinds of write are known not to be:

- a rate-limit count (``backend.common.throttling``): losing one only lets a request through;
- cachalot storing the result of a query it has just run (its "fill": the result, and a first
  timestamp for tables that had none). Losing it leaves the result uncached; a later read runs the
  query again. cachalot's *invalidations* (new table timestamps after a write, and a transaction's
  writes at commit) are not marked, so their loss is recorded as before.

Inside ``not_an_invalidation()`` a failed or skipped write is still a Redis failure for the circuit
breaker; only the outage record is not made. Without this, one web node whose Redis connection is
cut (its breaker open) recorded an outage for every cachalot fill and every throttle count it
skipped, and every other node stopped serving hot reads from the cache until that node replayed
(tests/scale/test_several_nodes.py).

Shapes: ``not_an_invalidation()`` is a context manager (nestable, per thread and per asyncio
task: a ``ContextVar``); ``in_effect() -> bool``. ``install_fill_guard()`` wraps cachalot 2.9.1's
``cachalot.monkey_patch._get_result_or_execute_query`` (read at call time by its patched
``execute_sql``) so that its writes run inside ``not_an_invalidation()``; idempotent.
"""

import contextvars
import functools
from collections.abc import Iterator
from contextlib import contextmanager

_not_an_invalidation: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "paeshift_cache_write_not_an_invalidation", default=False
)


@contextmanager
def not_an_invalidation() -> Iterator[None]:
    """Cache writes in the block are not invalidations: a failure is not recorded for replay."""
    token = _not_an_invalidation.set(True)
    try:
        yield
    finally:
        _not_an_invalidation.reset(token)


def in_effect() -> bool:
    """Whether the caller is inside ``not_an_invalidation()``."""
    return _not_an_invalidation.get()


def install_fill_guard() -> None:
    """Run cachalot's read-or-fill step inside ``not_an_invalidation()`` (see the module doc)."""
    from cachalot import monkey_patch

    original = monkey_patch._get_result_or_execute_query
    if getattr(original, "_not_an_invalidation", False):
        return

    @functools.wraps(original)
    def _get_result_or_execute_query(*args, **kwargs):
        with not_an_invalidation():
            return original(*args, **kwargs)

    _get_result_or_execute_query._not_an_invalidation = True
    monkey_patch._get_result_or_execute_query = _get_result_or_execute_query
