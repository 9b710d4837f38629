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

And one rule keeps a half-available Redis (reads answer, writes are refused: a failover, a
read-only replica, ``CLIENT PAUSE ... WRITE``, out of memory) from serving what a lost
invalidation should have removed: while ``pending()`` is true, no process serves anything it reads
from the cache (hot payloads, 304s, cachalot's results, everything read through Django's cache API)
and reads go to the database. ``pending()`` is true in a process that lost a write since its last
replay, and in every process while the database holds an outage record, as seen by a check made at
most ``CACHE_OUTAGE_POLL`` seconds earlier (one indexed ``EXISTS`` per period per process, made by a
daemon thread of the process on its own connection, so no request ever runs it: a hot hit stays
free of SQL). That period bounds how long
another process may still serve an entry after the write that should have removed it was
acknowledged (the record is written before the acknowledgement); docs/caching.md, "Failures".
"""

import logging
import math
import os
import threading
import time

from django.conf import settings
from django.db import DatabaseError, connection, transaction

logger = logging.getLogger(__name__)

CLOCK_SKEW_NS = 1_000_000_000

_state = threading.local()
_recorded = threading.Event()  # this process lost a write that no replay has covered yet
_last_lost_ns = 0  # wall-clock time of this process's latest lost write
_row_lock = threading.Lock()
_row_id: int | None = None  # this process's outage record, while it is believed to exist
_poll_lock = threading.Lock()
_polled_at = -math.inf  # time.monotonic() of the last check of the database
_recorded_elsewhere = False  # the database held an outage record at the last check
_poller_pid: int | None = None  # the process whose checking thread runs (a forked child starts its own)


def record_lost_write(cache_alias: str, reason: str) -> None:
    """Remember durably that a cache write was lost: one row per process while none of its is left.

    The row is written before the write that lost its invalidation is acknowledged (at commit when
    in a transaction), so every process learns of it within ``CACHE_OUTAGE_POLL`` seconds.
    """
    global _last_lost_ns
    _last_lost_ns = time.time_ns()
    if not _recorded.is_set():
        _recorded.set()
        logger.error("cache write lost on %s (%s); recorded for replay", cache_alias, reason)
    if _row_id is not None:
        return

    def insert() -> None:
        _insert_record(cache_alias, reason)

    if connection.in_atomic_block:
        transaction.on_commit(insert)
    else:
        insert()


def _insert_record(cache_alias: str, reason: str) -> None:
    global _row_id
    from backend.caching.models import CacheOutage

    with _row_lock:
        if _row_id is not None:
            return
        try:
            _row_id = CacheOutage.objects.create(cache_alias=cache_alias, reason=reason[:255]).id
        except DatabaseError:
            logger.exception("could not record the cache outage in the database")


def pending() -> bool:
    """Whether cached entries must not be served now: an invalidation was lost and not yet replayed.

    True while this process has lost a write since its last replay, or while the database held an
    outage record (any process's) at the last check, made at most ``CACHE_OUTAGE_POLL`` seconds ago
    by the process's checking thread, started here on first use in each process (``0`` turns the
    check off: the test settings, whose exact query counts and databases a thread would disturb).
    Costs no query and no lock on the caller's path.
    """
    if _poller_pid != os.getpid() and settings.CACHE_OUTAGE_POLL > 0:
        _start_poller()
    return _recorded.is_set() or _recorded_elsewhere


def _start_poller() -> None:
    global _poller_pid
    with _poll_lock:
        if _poller_pid == os.getpid():
            return
        _poller_pid = os.getpid()
    threading.Thread(target=_poll_forever, name="cache-outage-check", daemon=True).start()


def _poll_forever() -> None:
    """The checking thread: ``_poll()`` every ``CACHE_OUTAGE_POLL`` seconds, for the life of the process.

    A thread rather than a check on the request path, because that check made one hot hit in every
    ``CACHE_OUTAGE_POLL`` seconds run a query (seen by tests/deployment/test_stack.py). Its database
    connection is its own (Django's connections are per thread) and is closed when unusable, so a
    database restart costs one failed check.
    """
    from django.db import connection as own_connection

    while True:
        try:
            _poll()
        except Exception:
            logger.exception("cache outage check failed")
        finally:
            own_connection.close_if_unusable_or_obsolete()
        time.sleep(settings.CACHE_OUTAGE_POLL)


def _poll() -> None:
    """Learn whether any process has an outage pending; replay this process's own if it can.

    A process that lost writes usually replays when its circuit closes; this also covers the
    circuit closing by a read while writes are still refused (the replay failed then), and
    recreates this process's record if another process's replay consumed it meanwhile.
    """
    global _polled_at, _recorded_elsewhere, _row_id
    from backend.caching.models import CacheOutage

    _polled_at = time.monotonic()
    if _recorded.is_set() and not connection.in_atomic_block:
        recover()
    try:
        exists = CacheOutage.objects.exists()
    except DatabaseError:
        # Keep the last answer: while the database is unreachable no write can be acknowledged, so no
        # new invalidation can be lost, and hot hits keep answering from the cache (docs/reliability.md).
        logger.warning("could not read the cache outage records; keeping the last answer", exc_info=True)
        return
    if not exists:
        _row_id = None
        if _recorded.is_set():
            _insert_record("redis", "lost writes still to replay after another process's replay")
            exists = _row_id is not None
    _recorded_elsewhere = exists


def reset() -> None:
    """Forget this process's outage state (a test starting from a fresh process)."""
    global _last_lost_ns, _row_id, _polled_at, _recorded_elsewhere
    _recorded.clear()
    _last_lost_ns, _row_id, _polled_at, _recorded_elsewhere = 0, None, -math.inf, False


def _replayed_after(moment_ns: int) -> bool:
    from backend.caching.store import get_store

    epoch = get_store().epoch()
    return epoch is not None and int(epoch) > moment_ns + CLOCK_SKEW_NS


def recover() -> int:
    """Invalidate everything that may have missed an invalidation; returns the outage records cleared.

    Never raises for a database error (it runs from cache calls, whose callers expect a cache
    answer): the replay is then left to the next attempt.
    """
    global _row_id, _recorded_elsewhere
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
                return 0  # Redis still refuses writes: try again later
            cachalot_invalidate()
            CacheOutage.objects.filter(id__in=ids).delete()
        _row_id, _recorded_elsewhere = None, False
        if _last_lost_ns == lost_at or lost_at is None:
            _recorded.clear()
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
