"""Read path: one round trip for generation, epoch and payload; stored bytes on a hit, no SQL.

Conditional GET: ``If-None-Match`` is answered here for every hot view (hit or freshly built),
with the payload's body-hash ETag. The other preconditions (``If-Match``, ``If-Modified-Since``...)
are not evaluated: hot views are read-only and carry no ``Last-Modified``.
"""

import time

from django.conf import settings
from django.http import HttpResponse, HttpResponseNotModified
from django.utils.http import parse_etags

from backend.caching import registry
from backend.caching.payload import Payload, servable
from backend.caching.rebuild import build_payload, render
from backend.caching.store import get_store, take_prefetched

CONTENT_TYPE = "application/json"


def etag(payload: Payload) -> str:
    """``W/"<32 hex digits>"``: a hash of the body, so the tag is opaque (no timestamp, no epoch)
    and changes exactly when the representation does, not when a write touched the key without
    changing what it shows (a login's ``last_login``) or an outage's replay rebuilt it unchanged.
    Weak, because the bytes on the wire may be re-encoded (compressed) on the way out."""
    return f'W/"{payload.digest.decode()}"'


def _none_match(request, tag: str) -> bool:
    """Whether ``If-None-Match`` names ``tag``: RFC 9110 13.1.2, weak comparison (8.8.3.2).

    ``*`` matches any current representation; ``"x"`` matches ``W/"x"`` and the reverse; a list
    matches if one member does. Django's ``parse_etags`` keeps only well-formed entries, so a
    malformed header (or member) matches nothing and the full response is sent.
    """
    header = request.META.get("HTTP_IF_NONE_MATCH")
    if not header:
        return False
    candidates = parse_etags(header)
    if candidates == ["*"]:
        return True
    opaque = tag.removeprefix("W/")
    return any(candidate.removeprefix("W/") == opaque for candidate in candidates)


def _response(request, payload: Payload, outcome: str) -> HttpResponse:
    """The payload as a response: 304 without a body when the client's ``If-None-Match`` names it."""
    if payload.status == 200 and _none_match(request, etag(payload)):
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(payload.body, status=payload.status, content_type=CONTENT_TYPE)
    if payload.status == 200:
        response["ETag"] = etag(payload)
    response.hot_cache_outcome = outcome
    return response


def respond(request, namespace: str, key_id: int) -> HttpResponse:
    """The hot response for ``key_id``. The caller has already checked the requester's access."""
    view = registry.get(namespace)
    store = get_store()

    result = take_prefetched(request, namespace, key_id) or store.read(namespace, key_id, record_access=True)
    if servable(result.payload, result.gen, result.epoch):
        store.count(namespace, "hits")
        return _response(request, result.payload, "hit")

    store.count(namespace, "misses")
    if result.payload is not None:
        store.count(namespace, "stale_rejects")
    if not result.reachable:
        status, body = render(view, key_id)
        response = HttpResponse(body, status=status, content_type=CONTENT_TYPE)
        response.hot_cache_outcome = "bypass"
        return response
    return _miss(request, view, key_id, result.gen, result.epoch)


def _miss(request, view: registry.HotView, key_id: int, gen: bytes | None, epoch: bytes | None) -> HttpResponse:
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
            if servable(result.payload, result.gen, result.epoch):
                return _response(request, result.payload, "miss")
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
        return _response(request, payload, "miss")
    finally:
        if locked:
            store.release_lock(namespace, key_id)
