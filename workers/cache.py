"""Hot-cache tasks: rebuild one key, refresh the hottest keys ahead of expiry, replay outages.

Tasks take ids, load fresh state and are idempotent: running one twice stores the same payload.
They run on the ``cache`` queue so warming never waits behind other work.
"""

import logging
import time

from celery import shared_task
from django.conf import settings
from django.db import DatabaseError

from backend.caching import outage, registry
from backend.caching.rebuild import rebuild
from backend.caching.store import get_store

logger = logging.getLogger(__name__)


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=10,
    time_limit=15,
    autoretry_for=(DatabaseError,),
    retry_backoff=0.5,
    max_retries=3,
    ignore_result=True,
)
def rebuild_hot_key(self, namespace: str, key_id: int, refresh: bool = False) -> bool:
    """Rebuild one hot key from the database (cachalot off) and store it with its generation."""
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


def stale_soon(namespace: str, key_ids: list[int], fraction: float) -> list[int]:
    """The keys among ``key_ids`` with no servable payload, or one older than ``fraction`` of the TTL."""
    view = registry.get(namespace)
    gens, payloads, epoch = get_store().payloads(namespace, key_ids)
    limit_ms = view.effective_ttl * fraction * 1000
    now_ms = time.time() * 1000
    due = []
    for key_id, gen, payload in zip(key_ids, gens, payloads, strict=True):
        servable = payload is not None and gen is not None and payload.gen == gen and payload.epoch == epoch
        if not servable or now_ms - payload.built_ms >= limit_ms:
            due.append(key_id)
    return due


@shared_task(ignore_result=True, soft_time_limit=30, time_limit=60)
def refresh_hot_keys() -> dict[str, int]:
    """Refresh-ahead: rebuild the hottest keys of each namespace before they expire."""
    enqueued = {}
    for view in registry.all_views():
        hottest = get_store().top_keys(view.namespace, settings.HOT_CACHE_REFRESH_TOP_K)
        due = stale_soon(view.namespace, hottest, settings.HOT_CACHE_REFRESH_FRACTION)
        for key_id in due:
            rebuild_hot_key.apply_async((view.namespace, key_id), {"refresh": True})
        enqueued[view.namespace] = len(due)
    return enqueued


@shared_task(ignore_result=True, soft_time_limit=20, time_limit=30)
def recover_cache() -> int:
    """Replay invalidations lost while Redis was unreachable (see backend.caching.outage)."""
    return outage.recover()


@shared_task(ignore_result=True)
def decay_popularity() -> None:
    """Halve every key's popularity so that yesterday's hot users fade."""
    get_store().decay_popularity(
        registry.namespaces(), settings.HOT_CACHE_POPULARITY_DECAY, settings.HOT_CACHE_POPULARITY_KEEP
    )
