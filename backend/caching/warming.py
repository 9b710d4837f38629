"""Refresh-ahead and popularity: which hot keys to rebuild before they expire, and how popularity fades.

The policy behind beat's ``workers.cache.refresh_hot_keys`` and ``decay_popularity`` tasks, kept
here so the tasks only enqueue (docs/caching.md, "Refresh-ahead").
"""

import time

from django.conf import settings

from backend.caching import registry
from backend.caching.payload import servable
from backend.caching.store import get_store


def stale_soon(namespace: str, key_ids: list[int], fraction: float) -> list[int]:
    """The keys among ``key_ids`` with no servable payload, or one built more than ``fraction`` of
    the namespace's TTL ago; in their order. With Redis unreachable: all of them."""
    view = registry.get(namespace)
    gens, payloads, epochs = get_store().payloads(namespace, key_ids)
    limit_ms = view.effective_ttl * fraction * 1000
    now_ms = time.time() * 1000
    return [
        key_id
        for key_id, gen, payload, epoch in zip(key_ids, gens, payloads, epochs, strict=True)
        if not servable(payload, gen, epoch) or now_ms - payload.built_ms >= limit_ms
    ]


def due_for_refresh() -> dict[str, list[int]]:
    """``{namespace: [key ids]}``: of each namespace's ``HOT_CACHE_REFRESH_TOP_K`` most popular keys,
    those ``stale_soon`` at ``HOT_CACHE_REFRESH_FRACTION`` of the TTL."""
    store = get_store()
    return {
        view.namespace: stale_soon(
            view.namespace,
            store.top_keys(view.namespace, settings.HOT_CACHE_REFRESH_TOP_K),
            settings.HOT_CACHE_REFRESH_FRACTION,
        )
        for view in registry.all_views()
    }


def decay_popularity() -> None:
    """Multiply every key's popularity by ``HOT_CACHE_POPULARITY_DECAY``, keeping
    ``HOT_CACHE_POPULARITY_KEEP`` keys per namespace, so that yesterday's hot users fade."""
    get_store().decay_popularity(
        registry.all_namespaces(), settings.HOT_CACHE_POPULARITY_DECAY, settings.HOT_CACHE_POPULARITY_KEEP
    )
