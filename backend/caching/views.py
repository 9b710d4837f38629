"""Serving hot views from the cache, and the staff statistics endpoint."""

from django.conf import settings
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAdminUser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.caching import read, registry, stats


class HotCachedMixin:
    """For a DRF view whose default GET is a hot view.

    Set ``hot_view`` to the view's declaration (the ``HotView`` its app's ``hot_caches.py``
    registered: the namespace is never typed twice) and implement ``get_hot_key_id()``; a private
    hot view also overrides ``check_hot_access()`` (it runs before the cache is read, so a cached
    private payload is never served to anyone else). A request with query parameters (another
    page, a filter) or asking for another format (the browsable API) takes ``get_uncached()``: the
    normal path. A view whose hot keys include a query parameter (the open-jobs feed's ``?city=``)
    overrides ``is_hot_request()``. List the mixin before the DRF view it extends (``class V(HotCachedMixin,
    generics.ListAPIView)``), so that its ``get`` is the one that serves the route; the system
    checks of ``backend/caching/checks.py`` refuse to start otherwise.
    """

    hot_view: registry.HotView
    hot_key_names_requester: bool = True
    """Whether ``get_hot_key_id()`` depends on who asks (``request.user``). A public view keyed by the
    path or the query sets it False: its payload is then read in the same round trip as the token's
    entry, before authentication ends (``prefetchable_hot_key``)."""

    def get_hot_key_id(self, request, **kwargs) -> int:
        raise NotImplementedError

    def prefetchable_hot_key(self, request) -> tuple[str, int] | None:
        """``(namespace, key id)`` that this GET will read, if it can be known before authentication:
        a public view whose key does not depend on who asks, a hot request (``is_hot_request``, JSON).
        None otherwise. Called by the authentication class; reads nothing."""
        if (
            self.hot_key_names_requester
            or self.hot_view.private
            or request.method != "GET"
            or not settings.HOT_CACHE_ENABLED
            or not isinstance(getattr(request, "accepted_renderer", None), JSONRenderer)
            or not self.is_hot_request(request)
        ):
            return None
        try:
            return self.hot_view.namespace, int(self.get_hot_key_id(request, **self.kwargs))
        except (KeyError, TypeError, ValueError):
            return None

    def check_hot_access(self, request, key_id: int) -> None:
        return None

    def is_hot_request(self, request) -> bool:
        """Whether the query asks for what the hot key holds: by default, no query parameter at all."""
        return not request.query_params

    def get_uncached(self, request, key_id: int, *args, **kwargs):
        data = self.hot_view.build(key_id)
        if data is None:
            raise NotFound()
        return Response(data)

    def get(self, request, *args, **kwargs):
        key_id = self.get_hot_key_id(request, **kwargs)
        self.check_hot_access(request, key_id)
        if (
            settings.HOT_CACHE_ENABLED
            and self.is_hot_request(request)
            and isinstance(request.accepted_renderer, JSONRenderer)
        ):
            return read.respond(request, self.hot_view.namespace, key_id)
        return self.get_uncached(request, key_id, *args, **kwargs)


class CacheStatsView(APIView):
    """Hot-cache statistics per namespace (staff only): hits, misses, stale rejects, rebuilds,
    rebuild failures, hit rate and commit-to-warm latency (p50/p95 over the last 1,000 rebuilds);
    and whether cachalot serves reads in the web process and thread that answered (``cachalot``)."""

    permission_classes = [IsAdminUser]

    @extend_schema(
        tags=["ops"],
        responses=inline_serializer(
            "CacheStats",
            {
                "namespaces": serializers.DictField(
                    child=inline_serializer(
                        "NamespaceStats",
                        {
                            "hits": serializers.IntegerField(),
                            "misses": serializers.IntegerField(),
                            "stale_rejects": serializers.IntegerField(),
                            "rebuilds": serializers.IntegerField(),
                            "rebuild_failures": serializers.IntegerField(),
                            "hit_rate": serializers.FloatField(),
                            "warm_latency_ms_p50": serializers.FloatField(allow_null=True),
                            "warm_latency_ms_p95": serializers.FloatField(allow_null=True),
                        },
                    )
                ),
                "cachalot": inline_serializer(
                    "CachalotState",
                    {
                        "pid": serializers.IntegerField(),
                        "enabled": serializers.BooleanField(),
                        "enabled_in_settings": serializers.BooleanField(),
                        "open_atomic_levels": serializers.IntegerField(min_value=0),
                    },
                ),
            },
        ),
    )
    def get(self, request):
        return Response(stats.collect())
