"""Building a hot payload: the builder's data rendered once, stored with the generation it was built from."""

import time

from drf_standardized_errors.formatter import ExceptionFormatter
from rest_framework.exceptions import NotFound
from rest_framework.renderers import JSONRenderer

from backend.caching import registry
from backend.caching.payload import Payload
from backend.caching.store import get_store
from backend.common.orm_cache import cachalot_off

_renderer = JSONRenderer()


def _not_found_body() -> bytes:
    exc = NotFound()
    return _renderer.render(ExceptionFormatter(exc, {}, exc).run())


def render(view: registry.HotView, key_id: int) -> tuple[int, bytes]:
    """(status, body) for a key, read from the database with cachalot off.

    cachalot is off because its table invalidation lands a moment after our generation bump at
    commit: a build in between could read a stale ORM entry and store it under the new generation.
    A builder that raises leaves cachalot as it found it in this thread (``cachalot_off``).
    """
    with cachalot_off():
        data = view.build(key_id)
    if data is None:
        return 404, _not_found_body()
    return 200, _renderer.render(data)


def build_payload(view: registry.HotView, key_id: int, gen: bytes, epoch: bytes) -> Payload:
    status, body = render(view, key_id)
    return Payload(epoch=epoch, gen=gen, status=status, built_ms=int(time.time() * 1000), body=body)


def rebuild(namespace: str, key_id: int, *, measure_latency: bool = False) -> Payload | None:
    """Build and store one key (idempotent). Returns the stored payload, or None if Redis is unreachable.

    The generation is read before the database: if a write commits while we build, the stored
    payload carries the older generation and is never served (stale-set protection).
    """
    view = registry.get(namespace)
    store = get_store()
    gen, epoch = store.ensure_generation(namespace, key_id)
    if gen is None:
        return None
    payload = build_payload(view, key_id, gen, epoch)
    latency_ms = None
    if measure_latency:
        # The generation is the invalidation's timestamp (ns): commit-to-warm latency.
        latency_ms = max(0.0, time.time() * 1000 - int(gen) / 1e6)
    store.count(namespace, "rebuilds")
    if not store.store(namespace, key_id, payload, view.effective_ttl, latency_ms=latency_ms):
        return None
    return payload
