"""The ``ttl`` peer of the benchmark: what a Django team would build instead of the hot caches.

Django's per-view cache (``cache_page``, varying on ``Authorization`` so no user is served another's
response) on the routes of every hot view, each entry living the previous system's TTL
(``HotView.ttl``: the TTLs of the previous system's six hot views as /work/shared/ARCHITECTURE.md and
issue 3 list them, 5 min to 1 h; the feed and the two dashboards, which that system did not cache,
keep their own declarations' TTL, 10 min), and no event-driven invalidation: a write is seen when the
entry expires. ``manage.py bench --configs ttl`` runs it with the hot caches off (docs/benchmarks/).

Switched on by ``TTL_PEER_CACHE=true`` in the benchmark's settings only (config/settings/bench.py
points ``ROOT_URLCONF`` at ``bench.ttl_urls``); production never installs ``bench``.

Each wrapped response says whether the per-view cache served it (``hit``) or the view ran (``miss``)
in ``Server-Timing``'s ``cache`` entry, as the hot views do, so the load generator counts the peer's
hit rate per namespace the same way. Django's cache middleware does not store a response marked
``Cache-Control: private``; the project marks private responses in a middleware outside the view
(backend/common/private_responses.py), so the peer caches them (per token) and clients still see them
private.
"""

import functools

from django.urls import URLPattern, URLResolver
from django.views.decorators.cache import cache_page
from django.views.decorators.vary import vary_on_headers

_BUILT = "_ttl_peer_built"


def ttl_cached(view, ttl: float):
    """``view`` behind ``cache_page(ttl)`` + ``vary_on_headers("Authorization")``, labelled hit or miss."""

    @functools.wraps(view)
    def built(request, *args, **kwargs):
        setattr(request, _BUILT, True)
        return view(request, *args, **kwargs)

    cached = cache_page(int(ttl))(vary_on_headers("Authorization")(built))

    @functools.wraps(view)
    def served(request, *args, **kwargs):
        response = cached(request, *args, **kwargs)
        response.hot_cache_outcome = "miss" if getattr(request, _BUILT, False) else "hit"
        return response

    served.ttl_peer_ttl = int(ttl)
    return served


def hot_view_of(callback):
    """The ``HotView`` a route's view serves (its class's ``hot_view``), or None."""
    return getattr(getattr(callback, "view_class", None), "hot_view", None)


def wrap_hot_routes(patterns) -> list:
    """A copy of ``patterns`` (recursively through includes) with every hot view's route wrapped by
    ``ttl_cached`` at its declaration's ``ttl``; the product's own URL modules are left untouched."""
    wrapped = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            wrapped.append(
                URLResolver(
                    pattern.pattern,
                    wrap_hot_routes(pattern.url_patterns),
                    pattern.default_kwargs,
                    pattern.app_name,
                    pattern.namespace,
                )
            )
            continue
        hot_view = hot_view_of(pattern.callback)
        if hot_view is None:
            wrapped.append(pattern)
        else:
            callback = ttl_cached(pattern.callback, hot_view.ttl)
            wrapped.append(URLPattern(pattern.pattern, callback, pattern.default_args, pattern.name))
    return wrapped
