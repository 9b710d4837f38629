"""Invalidations that could not be delivered are recorded, so that they are not forgotten.

This module records; ``recovery`` replays. When a cache write fails (Redis down, paused or
unreachable, or the circuit open), the process records a ``CacheOutage`` row in the database, once
per outage, and remembers when it last lost a write. The replay (``recovery.recover()``: epoch
bump, every cachalot table invalidated, rows deleted) runs from beat every
``CACHE_RECOVERY_PERIOD`` seconds and in the process that saw the outage as soon as its circuit
closes (registered on the Redis breaker at start-up), so a stale entry cannot outlive the outage by
more than a few seconds. The rules that make a replay happen once and miss nothing are in
``recovery``'s docstring.

One rule keeps a half-available Redis (reads answer, writes are refused: a failover, a
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

Imports only the model and the breaker: the cache backend and the hot store import this module,
and recovery (which uses the store) imports it too, so the layers stay acyclic.
"""

import logging
import math
import os
import threading
import time

from django.conf import settings
from django.db import DatabaseError, connection, transaction

from backend.caching.breaker import REDIS, breaker_for
from backend.caching.models import CacheOutage

logger = logging.getLogger(__name__)

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
    while True:
        try:
            _poll()
        except Exception:
            logger.exception("cache outage check failed")
        finally:
            connection.close_if_unusable_or_obsolete()  # this thread's own connection
        time.sleep(settings.CACHE_OUTAGE_POLL)


def _poll() -> None:
    """Learn whether any process has an outage pending; replay this process's own if it can.

    A process that lost writes usually replays when its circuit closes (the recovery registered on
    the Redis breaker, run here through ``run_recovery``); this also covers the
    circuit closing by a read while writes are still refused (the replay failed then), and
    recreates this process's record if another process's replay consumed it meanwhile.
    """
    global _polled_at, _recorded_elsewhere, _row_id
    _polled_at = time.monotonic()
    if _recorded.is_set() and not connection.in_atomic_block:
        breaker_for(REDIS).run_recovery()
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


def last_lost_write() -> int | None:
    """Wall-clock time (ns since the epoch) of this process's latest lost write, or None when every
    write it lost has been covered by a replay."""
    return _last_lost_ns if _recorded.is_set() else None


def covered(lost_at: int | None) -> None:
    """A replay (this process's or another's) covered the writes lost up to ``lost_at``
    (``last_lost_write()`` taken before it): forget them, unless a write was lost since."""
    if lost_at is None or _last_lost_ns == lost_at:
        _recorded.clear()


def replayed(lost_at: int | None) -> None:
    """This process replayed the outage (the records are deleted): forget its record and the
    other processes' ones, and the writes lost up to ``lost_at``."""
    global _row_id, _recorded_elsewhere
    _row_id, _recorded_elsewhere = None, False
    covered(lost_at)
