"""Read path: one round trip for generation, epoch and payload; stored bytes on a hit, no SQL."""

import time

from django.conf import settings
from django.http import HttpResponse, HttpResponseNotModified

from backend.caching import registry
from backend.caching.rebuild import build_payload, render
from backend.caching.store import Payload, get_store

CONTENT_TYPE = "application/json"


def etag(gen: bytes, epoch: bytes) -> str:
    return f'W/"{epoch.decode()}.{gen.decode()}"'


def _valid(payload: Payload | None, gen: bytes | None, epoch: bytes) -> bool:
    return payload is not None and gen is not None and payload.gen == gen and payload.epoch == epoch


def _response(payload: Payload, outcome: str) -> HttpResponse:
    response = HttpResponse(payload.body, status=payload.status, content_type=CONTENT_TYPE)
    if payload.status == 200:
        response["ETag"] = etag(payload.gen, payload.epoch)
    response.hot_cache_outcome = outcome
    return response


def _if_none_match(request) -> set[str]:
    header = request.META.get("HTTP_IF_NONE_MATCH", "")
    return {tag.strip() for tag in header.split(",") if tag.strip()}


def respond(request, namespace: str, key_id: int) -> HttpResponse:
    """The hot response for ``key_id``. The caller has already checked the requester's access."""
    view = registry.get(namespace)
    store = get_store()

    tags = _if_none_match(request)
    if tags:
        gen, epoch = store.read_generation(namespace, key_id)
        if gen is not None and etag(gen, epoch) in tags:
            store.count(namespace, "hits")
            response = HttpResponseNotModified()
            response["ETag"] = etag(gen, epoch)
            response.hot_cache_outcome = "hit"
            return response

    result = store.read(namespace, key_id, record_access=True)
    if _valid(result.payload, result.gen, result.epoch):
        store.count(namespace, "hits")
        return _response(result.payload, "hit")

    store.count(namespace, "misses")
    if result.payload is not None:
        store.count(namespace, "stale_rejects")
    if not result.reachable:
        status, body = render(view, key_id)
        response = HttpResponse(body, status=status, content_type=CONTENT_TYPE)
        response.hot_cache_outcome = "bypass"
        return response
    return _miss(view, key_id, result.gen, result.epoch)


def _miss(view: registry.HotView, key_id: int, gen: bytes | None, epoch: bytes) -> HttpResponse:
    store = get_store()
    namespace = view.namespace
    locked = store.acquire_lock(namespace, key_id, settings.HOT_CACHE_LOCK_TIMEOUT)
    if locked is False:
        # Someone else is building this key: wait a little for their payload rather than
        # sending one more identical query to the database.
        deadline = time.monotonic() + settings.HOT_CACHE_LOCK_WAIT
        while time.monotonic() < deadline:
            time.sleep(0.005)
            result = store.read(namespace, key_id, record_access=False)
            if _valid(result.payload, result.gen, result.epoch):
                return _response(result.payload, "miss")
    try:
        if gen is None:
            gen, epoch = store.ensure_generation(namespace, key_id)
        if gen is None:
            status, body = render(view, key_id)
            response = HttpResponse(body, status=status, content_type=CONTENT_TYPE)
            response.hot_cache_outcome = "bypass"
            return response
        payload = build_payload(view, key_id, gen, epoch)
        store.store(namespace, key_id, payload, view.effective_ttl)
        return _response(payload, "miss")
    finally:
        if locked:
            store.release_lock(namespace, key_id)
