"""Hot-cache tasks: rebuild the keys of a write (or one key), refresh the hottest keys ahead of expiry, replay outages.

The worker's interface to ``backend.caching``, as views are HTTP's: each task takes ids, calls into
``backend/`` and is idempotent (running one twice stores the same payload). Names are explicit and
never change (messages queued during a deploy carry them; ``backend.caching.invalidation`` enqueues
``rebuild_hot_keys`` by name); ``CELERY_TASK_ROUTES`` sends them all to the ``cache`` queue, so
warming never waits behind other work.
"""

import logging

from celery import shared_task
from django.db import DatabaseError

from backend.caching import recovery, warming
from backend.caching.rebuild import rebuild, rebuild_stale
from backend.caching.store import get_store

logger = logging.getLogger(__name__)


# What both rebuild tasks promise: acknowledged after the run (redelivered if the worker dies),
# retried on a database error, no result stored. Their time limits differ (one key, or a batch).
_REBUILD_TASK_OPTIONS = {
    "bind": True,
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": (DatabaseError,),
    "retry_backoff": 0.5,
    "max_retries": 3,
    "ignore_result": True,
}


@shared_task(name="workers.cache.rebuild_hot_key", soft_time_limit=10, time_limit=15, **_REBUILD_TASK_OPTIONS)
def rebuild_hot_key(self, namespace: str, key_id: int, refresh: bool = False) -> bool:
    """Rebuild one hot key from the database (cachalot off) and store it with its generation.

    Returns whether a payload was stored (False: Redis unreachable). Retried on a database error.
    """
    try:
        payload = rebuild(namespace, int(key_id), measure_latency=not refresh)
    except Exception:
        get_store().count(namespace, "rebuild_failures")
        logger.exception("rebuild of %s:%s failed", namespace, key_id)
        raise
    logger.info(
        "hot cache rebuilt %s:%s%s",
        namespace,
        key_id,
        " (refresh-ahead)" if refresh else "",
        extra={"namespace": namespace, "key_id": key_id, "stored": payload is not None},
    )
    return payload is not None


@shared_task(name="workers.cache.rebuild_hot_keys", soft_time_limit=30, time_limit=45, **_REBUILD_TASK_OPTIONS)
def rebuild_hot_keys(self, keys: list[list]) -> int:
    """Rebuild the hot keys one transaction invalidated: ``keys`` is ``[[namespace, key_id], ...]``.

    Skips each key a read has already rebuilt since its invalidation (``rebuild_stale``); returns how
    many it stored. Retried as a whole on a database error (the keys stored before it are then
    fresh and skipped). Idempotent.
    """
    pairs = [(str(ns), int(key_id)) for ns, key_id in keys]
    return len(rebuild_stale(pairs, on_stored=_log_rebuilt))


def _log_rebuilt(namespace: str, key_id: int) -> None:
    logger.info(
        "hot cache rebuilt %s:%s", namespace, key_id, extra={"namespace": namespace, "key_id": key_id, "stored": True}
    )


@shared_task(name="workers.cache.refresh_hot_keys", ignore_result=True, soft_time_limit=30, time_limit=60)
def refresh_hot_keys() -> dict[str, int]:
    """Refresh-ahead: enqueue a rebuild of each hot key about to expire; returns ``{namespace: enqueued}``."""
    due = warming.due_for_refresh()
    for namespace, key_ids in due.items():
        for key_id in key_ids:
            rebuild_hot_key.apply_async((namespace, key_id), {"refresh": True})
    return {namespace: len(key_ids) for namespace, key_ids in due.items()}


@shared_task(name="workers.cache.recover_cache", ignore_result=True, soft_time_limit=20, time_limit=30)
def recover_cache() -> int:
    """Replay invalidations lost while Redis was unreachable; returns the outage records cleared
    (``backend.caching.recovery``)."""
    return recovery.recover()


@shared_task(name="workers.cache.decay_popularity", ignore_result=True)
def decay_popularity() -> None:
    """Let yesterday's hot keys fade (``backend.caching.warming.decay_popularity``)."""
    warming.decay_popularity()
