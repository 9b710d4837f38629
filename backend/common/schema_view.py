"""``GET /api/schema/``: the OpenAPI document, generated once per process and served from memory.

Its own module: drf-spectacular's views import the schema class (backend.common.openapi) while
they load, so the view cannot live next to it.
"""

import hashlib
import threading

from django.http import HttpResponse
from django.utils.cache import get_conditional_response, patch_vary_headers
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.settings import spectacular_settings
from drf_spectacular.views import SpectacularAPIView
from rest_framework.renderers import BaseRenderer


class SchemaView(SpectacularAPIView):
    """``GET /api/schema/``: this API's OpenAPI 3 document, YAML by default, JSON on ``Accept:
    application/vnd.oai.openapi+json`` (or ``application/json``, or ``?format=json``).

    The document describes the code, so it changes only with a deploy: it is generated once per
    process, at its first request (about a second of CPU for some 340 KB), and each format rendered
    once, then served from memory with a strong ``ETag`` (``If-None-Match`` answers 304). Generating
    it on every request let two anonymous clients occupy both web workers (issue 11, kind 6). The
    document is the public one drf-spectacular generates without a request (nothing in it depends
    on who asks), so what is served equals a fresh build (tests/common/test_schema_view.py).
    """

    def _get_schema_response(self, request):
        renderer = request.accepted_renderer
        body, content_type, etag = rendered_schema(type(renderer))
        response = HttpResponse(body, content_type=content_type)
        response["ETag"] = etag
        response["Content-Disposition"] = f'inline; filename="{spectacular_settings.TITLE}.{renderer.format}"'
        # Clients may keep it, but ask again (a deploy changes it); the ETag makes asking cheap.
        response["Cache-Control"] = "public, no-cache"
        patch_vary_headers(response, ["Accept"])
        return get_conditional_response(request, etag=etag, response=response)


# Format (renderer class) -> (body, Content-Type, ETag); None: the document, once generated.
_rendered: dict[type[BaseRenderer], tuple[bytes, str, str]] = {}
_document: list[dict] = []
# Concurrent first requests (threaded servers) wait for one build instead of each building.
_lock = threading.Lock()


def schema_document() -> dict:
    """The public OpenAPI document as drf-spectacular generates it, once per process."""
    with _lock:
        if not _document:
            _document.append(SchemaGenerator().get_schema(request=None, public=True))
        return _document[0]


def rendered_schema(renderer_class: type[BaseRenderer]) -> tuple[bytes, str, str]:
    """``(body, Content-Type, ETag)`` of the document in one format, rendered once per process.

    One entry per renderer class of the view (four), whatever the client sends: the media type is
    the renderer's own, without parameters from the ``Accept`` header (such as ``indent``), so the
    memory used is bounded.
    """
    cached = _rendered.get(renderer_class)
    if cached is None:
        renderer = renderer_class()
        body = renderer.render(schema_document(), renderer.media_type, {})
        charset = f"; charset={renderer.charset}" if renderer.charset else ""
        cached = _rendered.setdefault(
            renderer_class, (body, renderer.media_type + charset, f'"{hashlib.sha256(body).hexdigest()[:32]}"')
        )
    return cached


def clear_schema_cache() -> None:
    """Forget the built document (tests that change the URLs or the schema settings)."""
    with _lock:
        _document.clear()
        _rendered.clear()
