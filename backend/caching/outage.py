"""Invalidations that could not be delivered are not forgotten.

When a cache write fails (Redis down, paused or unreachable, or the circuit open), the process
records a ``CacheOutage`` row in the database, once per outage, and remembers when it last lost a
write. ``recover()`` runs when Redis answers again: it bumps the hot caches' epoch (every stored
payload becomes unservable at once) and invalidates every cachalot table, then deletes the rows.
Beat runs it every ``CACHE_RECOVERY_PERIOD`` seconds, and the process that saw the outage runs it
as soon as its circuit closes, so a stale entry cannot outlive the outage by more than a few seconds.

Two rules make a replay happen once and miss nothing (docs/reliability.md has the failures that
showed the need for each):

- Replays take turns. The rows are locked (``SELECT ... FOR UPDATE``) while the epoch is bumped and
  they are deleted, so concurrent replays (several processes whose circuits close together, two
  beats started by mistake) bump the epoch once; the ones that waited find the rows gone.
- A process that lost writes replays at its own recovery even when another process has consumed
  the rows, unless the epoch was bumped after its last lost write. Its circuit stays open for a
  cooldown after Redis is back, and the writes it skips meanwhile have no row of their own (one
  per process per outage): without this rule, a payload rebuilt elsewhere after the other
  process's replay would be served until its TTL. The epoch is a timestamp, so comparing it with
  the time of the last lost write tells whether a replay came after it; ``CLOCK_SKEW_NS`` allows
  for hosts whose clocks differ (one bump too many costs a burst of misses, one too few a stale read).
"""

import logging
import threading
import time

from django.db import DatabaseError, connection, transaction

logger = logging.getLogger(__name__)

CLOCK_SKEW_NS = 1_000_000_000

_state = threading.local()
_recorded = threading.Event()
_last_lost_ns = 0  # wall-clock time of this process's latest lost write


def record_lost_write(cache_alias: str, reason: str) -> None:
    """Remember durably that a cache write was lost (a row at most once per process per outage)."""
    global _last_lost_ns
    _last_lost_ns = time.time_ns()
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


def _replayed_after(moment_ns: int) -> bool:
    from backend.caching.store import get_store

    epoch = get_store().epoch()
    return epoch is not None and int(epoch) > moment_ns + CLOCK_SKEW_NS


def recover() -> int:
    """Invalidate everything that may have missed an invalidation; returns the outage records cleared."""
    from cachalot.api import invalidate as cachalot_invalidate

    from backend.caching.models import CacheOutage
    from backend.caching.store import get_store

    if getattr(_state, "recovering", False):
        return 0
    _state.recovering = True
    try:
        lost_at = _last_lost_ns if _recorded.is_set() else None
        with transaction.atomic():
            ids = list(CacheOutage.objects.select_for_update().order_by("id").values_list("id", flat=True))
            lost_here = lost_at is not None and not _replayed_after(lost_at)
            if not ids and not lost_here:
                if lost_at is None or _last_lost_ns == lost_at:
                    _recorded.clear()
                return 0
            if not get_store().bump_epoch():
                return 0  # Redis still unreachable: try again later
            cachalot_invalidate()
            CacheOutage.objects.filter(id__in=ids).delete()
        if _last_lost_ns == lost_at or lost_at is None:
            _recorded.clear()
        logger.warning(
            "cache recovered: %d outage record(s) replayed%s",
            len(ids),
            "" if ids else " (writes this process lost after the last replay)",
        )
        return len(ids)
    finally:
        _state.recovering = False
