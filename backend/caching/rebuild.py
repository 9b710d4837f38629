"""Building a hot payload: the builder's data rendered once, stored with the generation it was built from."""

import logging
import time
from collections import defaultdict
from collections.abc import Callable

from drf_standardized_errors.formatter import ExceptionFormatter
from rest_framework.exceptions import NotFound
from rest_framework.renderers import JSONRenderer

from backend.caching import registry
from backend.caching.payload import Payload, servable
from backend.caching.store import get_store
from backend.common.db_routing import primary
from backend.common.orm_cache import cachalot_off

_renderer = JSONRenderer()
logger = logging.getLogger(__name__)


def _not_found_body() -> bytes:
    exc = NotFound()
    return _renderer.render(ExceptionFormatter(exc, {}, exc).run())


def render(view: registry.HotView, key_id: int) -> tuple[int, bytes]:
    """(status, body) for a key, read from the database with cachalot off.

    cachalot is off because its table invalidation lands a moment after our generation bump at
    commit: a build in between could read a stale ORM entry and store it under the new generation.
    A builder that raises leaves cachalot as it found it in this thread (``cachalot_off``). Every read
    is on the primary (``db_routing.primary``): a payload is stored under the generation read before
    the build, so a build from a lagging replica would store data older than that generation's write.
    """
    with cachalot_off(), primary():
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


def rebuild_stale(
    keys: list[tuple[str, int]], on_stored: Callable[[str, int], None] | None = None
) -> list[tuple[str, int]]:
    """Rebuild those of ``keys`` with no servable payload; returns the keys stored (idempotent).

    ``on_stored(namespace, key_id)`` runs as each key is stored (the worker logs it there and then,
    not once the whole list is done).

    One read per namespace finds the generations and payloads; a key that a read has rebuilt since
    the write (servable: its payload carries the current generation) is skipped, so the inline build
    of a read-your-writes request and the worker never both build it. Each other key is built as by
    ``rebuild`` (generation first: a write committing meanwhile leaves the payload unservable). A key
    whose build raises is counted in ``rebuild_failures`` and the rest still run; the first error is
    raised at the end (a retry skips what was stored). A namespace no longer registered is skipped.
    """
    store = get_store()
    by_namespace: dict[str, list[int]] = defaultdict(list)
    for ns, key_id in dict.fromkeys(keys):
        if registry.get_or_none(ns) is None:
            logger.warning("rebuild of %s:%s skipped: no such hot view", ns, key_id)
            continue
        by_namespace[ns].append(key_id)
    stored: list[tuple[str, int]] = []
    error = None
    for ns, key_ids in by_namespace.items():
        view = registry.get(ns)
        gens, payloads, epochs = store.payloads(ns, key_ids)
        for key_id, gen, payload, epoch in zip(key_ids, gens, payloads, epochs, strict=True):
            if epoch is None:
                return stored  # Redis unreachable: the next reads build
            if servable(payload, gen, epoch):
                continue
            if gen is None:
                gen, epoch_now = store.ensure_generation(ns, key_id)
                if gen is None:
                    return stored
            else:
                epoch_now = epoch
            try:
                built = build_payload(view, key_id, gen, epoch_now)
            except Exception as exc:
                store.count(ns, "rebuild_failures")
                logger.exception("rebuild of %s:%s failed", ns, key_id)
                error = error or exc
                continue
            latency_ms = max(0.0, time.time() * 1000 - int(gen) / 1e6)
            store.count(ns, "rebuilds")
            if store.store(ns, key_id, built, view.effective_ttl, latency_ms=latency_ms):
                stored.append((ns, key_id))
                if on_stored is not None:
                    on_stored(ns, key_id)
    if error is not None:
        raise error
    return stored
