"""Invalidations that could not be delivered are not forgotten.

When a cache write fails (Redis down, paused or unreachable, or the circuit open), the process
records a ``CacheOutage`` row in the database, once per outage. ``recover()`` runs when Redis
answers again: it bumps the hot caches' epoch (every stored payload becomes unservable at once)
and invalidates every cachalot table, then deletes the rows. Beat runs it every
``CACHE_RECOVERY_PERIOD`` seconds, and the process that saw the outage runs it as soon as its
circuit closes, so a stale entry cannot outlive the outage by more than a few seconds.
"""

import logging
import threading

from django.db import DatabaseError, connection, transaction

logger = logging.getLogger(__name__)

_state = threading.local()
_recorded = threading.Event()


def record_lost_write(cache_alias: str, reason: str) -> None:
    """Remember durably that a cache write was lost (at most once per process per outage)."""
    if _recorded.is_set():
        return
    _recorded.set()
    logger.error("cache write lost on %s (%s); recorded for replay", cache_alias, reason)

    def insert() -> None:
        from backend.caching.models import CacheOutage

        try:
            CacheOutage.objects.create(cache_alias=cache_alias, reason=reason[:255])
        except DatabaseError:
            _recorded.clear()
            logger.exception("could not record the cache outage in the database")

    if connection.in_atomic_block:
        transaction.on_commit(insert)
    else:
        insert()


def recover() -> int:
    """Invalidate everything that may have missed an invalidation; returns the outages cleared."""
    from cachalot.api import invalidate as cachalot_invalidate

    from backend.caching.models import CacheOutage
    from backend.caching.store import get_store

    if getattr(_state, "recovering", False):
        return 0
    _state.recovering = True
    try:
        last = CacheOutage.objects.order_by("-id").values_list("id", flat=True).first()
        if last is None:
            _recorded.clear()
            return 0
        if not get_store().bump_epoch():
            return 0  # Redis still unreachable: try again later
        cachalot_invalidate()
        cleared, _ = CacheOutage.objects.filter(id__lte=last).delete()
        _recorded.clear()
        logger.warning("cache recovered: %d outage record(s) replayed", cleared)
        return cleared
    finally:
        _state.recovering = False
