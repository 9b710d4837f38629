"""Replaying an outage: what ``outage`` recorded is made harmless once Redis answers again.

``recover()`` bumps the hot caches' epoch (every stored payload becomes unservable at once) and
invalidates every cachalot table, then deletes the outage records. It runs from beat's
``workers.cache.recover_cache`` every ``CACHE_RECOVERY_PERIOD`` seconds, and in the process that saw
the outage as soon as its Redis circuit closes: ``CachingConfig.ready()`` registers it on the
breaker (``breaker.on_recovery``), and ``outage``'s checking thread runs the breaker's recovery
when the process still has lost writes to replay.

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

from cachalot.api import invalidate as cachalot_invalidate
from django.db import DatabaseError, transaction

from backend.caching import outage
from backend.caching.models import CacheOutage
from backend.caching.store import get_store

logger = logging.getLogger(__name__)

CLOCK_SKEW_NS = 1_000_000_000

_state = threading.local()


def _replayed_after(moment_ns: int) -> bool:
    epoch = get_store().epoch()
    return epoch is not None and int(epoch) > moment_ns + CLOCK_SKEW_NS


def recover() -> int:
    """Invalidate everything that may have missed an invalidation; returns the outage records cleared.

    Never raises for a database error (it runs from cache calls, whose callers expect a cache
    answer): the replay is then left to the next attempt. Returns 0 too when Redis still refuses
    the epoch bump, and when called again from inside a replay on the same thread.
    """
    if getattr(_state, "recovering", False):
        return 0
    _state.recovering = True
    try:
        lost_at = outage.last_lost_write()
        with transaction.atomic():
            ids = list(CacheOutage.objects.select_for_update().order_by("id").values_list("id", flat=True))
            lost_here = lost_at is not None and not _replayed_after(lost_at)
            if not ids and not lost_here:
                outage.covered(lost_at)
                return 0
            if not get_store().bump_epoch():
                return 0  # Redis still refuses writes: try again later
            cachalot_invalidate()
            CacheOutage.objects.filter(id__in=ids).delete()
        outage.replayed(lost_at)
        logger.warning(
            "cache recovered: %d outage record(s) replayed%s",
            len(ids),
            "" if ids else " (writes this process lost after the last replay)",
        )
        return len(ids)
    except DatabaseError:
        logger.exception("cache recovery failed on the database; it will be tried again")
        return 0
    finally:
        _state.recovering = False
