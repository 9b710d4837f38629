"""System checks (``manage.py check``, run before every command and at server start): a hot view that
would be silently wrong refuses to start instead.

- ``caching.E001``: a view that lists ``HotCachedMixin`` after a class with its own ``get`` (a DRF
  generic such as ``ListAPIView``) is served by that ``get``: never cached, and ``check_hot_access``
  never runs. The mixin must come first in the bases.
- ``caching.E002``: the view's ``hot_view`` is missing, or is not the declaration registered for its
  namespace (a ``HotView`` built but never passed to ``register()``, or a namespace string).
- ``caching.E003``: the view serves a private hot view (``private=True``) and does not override
  ``check_hot_access``: the cached payload would be served to whoever asks.
- ``caching.E004``: the view does not override ``get_hot_key_id``: every request would answer 500.
- ``caching.E005``: the view serves a private hot view from a route whose URL name is not in
  ``backend.common.private_responses.PRIVATE_URL_NAMES``: its answers (hot hits included) would go out
  without ``Cache-Control: private, no-store``, so a shared cache on the way could keep them.
- ``caching.E006``: the view sets ``hot_key_names_requester = False`` (its payload is read with the token's
  entry, before authentication has finished) but its ``get_hot_key_id`` or ``is_hot_request`` reads
  ``request.user`` or ``request.auth``: at that moment they are not known, so the key read would be
  another user's or the anonymous one. Found in the methods' source (their syntax tree), so it
  catches the spellings a view uses (``request.user``, ``self.request.auth``); a helper the method
  calls is not followed.

Not checked: a view's own ``get()`` that never calls the mixin's (views define ``get`` to document it
and call ``super().get()``; whether they do is not visible to a check). The checklist's tests catch it
(docs/architecture.md, "Adding a hot view").

Only views reachable from the URLconf are checked: a class no route serves cannot be wrong in this way.
"""

import ast
import inspect
import textwrap
from collections.abc import Iterator

from django.core.checks import Error
from django.urls import URLPattern, URLResolver, get_resolver

from backend.caching import registry
from backend.caching.views import HotCachedMixin
from backend.common.private_responses import PRIVATE_URL_NAMES


def _routed_view_classes(patterns, prefix: str = "") -> Iterator[tuple[str, type, str | None]]:
    """(route, view class, URL name) of every class-based view the URLconf serves."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _routed_view_classes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            view_class = getattr(pattern.callback, "view_class", None)
            if view_class is not None:
                yield prefix + str(pattern.pattern), view_class, pattern.name


def private_route_errors(view_class: type, route: str, url_name: str | None) -> list[Error]:
    """``caching.E005`` for one route of a hot view."""
    hot_view = getattr(view_class, "hot_view", None)
    if not (issubclass(view_class, HotCachedMixin) and isinstance(hot_view, registry.HotView) and hot_view.private):
        return []
    if (url_name or "").removesuffix("-alt") in PRIVATE_URL_NAMES:
        return []
    return [
        Error(
            f"{view_class.__module__}.{view_class.__qualname__} (route {route!r}, URL name {url_name!r}) serves the "
            f"private hot view {hot_view.namespace!r}, but its responses are not marked private, no-store.",
            hint="Add the route's URL name to backend.common.private_responses.PRIVATE_URL_NAMES.",
            obj=view_class,
            id="caching.E005",
        )
    ]


def hot_view_errors(view_class: type, route: str) -> list[Error]:
    """The errors of one routed view class (none unless it is a ``HotCachedMixin``)."""
    if not issubclass(view_class, HotCachedMixin):
        return []
    name = f"{view_class.__module__}.{view_class.__qualname__}"
    errors = []
    mro = view_class.__mro__
    shadowing = [
        klass
        for klass in mro[: mro.index(HotCachedMixin)]
        if "get" in vars(klass) and not issubclass(klass, HotCachedMixin)
    ]
    if shadowing:
        errors.append(
            Error(
                f"{name} (route {route!r}) lists HotCachedMixin after {shadowing[0].__qualname__}, whose get() "
                "serves the route: the hot view is never read and its access check never runs.",
                hint=f"List HotCachedMixin first: class {view_class.__name__}(HotCachedMixin, ...).",
                obj=view_class,
                id="caching.E001",
            )
        )
    hot_view = getattr(view_class, "hot_view", None)
    namespace = getattr(hot_view, "namespace", hot_view)
    registered = registry.namespaces()
    if not isinstance(hot_view, registry.HotView) or registry.get_or_none(hot_view.namespace) is not hot_view:
        errors.append(
            Error(
                f"{name} (route {route!r}) names hot view {namespace!r}, which is not a registered declaration "
                f"(registered: {', '.join(registered)}).",
                hint="Set hot_view to the HotView object that the app's hot_caches.py passes to register().",
                obj=view_class,
                id="caching.E002",
            )
        )
    elif hot_view.private and view_class.check_hot_access is HotCachedMixin.check_hot_access:
        errors.append(
            Error(
                f"{name} (route {route!r}) serves the private hot view {namespace!r} without an access check.",
                hint="Override check_hot_access(request, key_id) (e.g. backend.common.access.ensure_owner_or_staff).",
                obj=view_class,
                id="caching.E003",
            )
        )
    if view_class.get_hot_key_id is HotCachedMixin.get_hot_key_id:
        errors.append(
            Error(
                f"{name} (route {route!r}) does not say which key a request reads: get_hot_key_id() is not overridden.",
                hint="Override get_hot_key_id(request, **kwargs) to return the key's id (a path id, request.user.id).",
                obj=view_class,
                id="caching.E004",
            )
        )
    return errors


REQUESTER_ATTRIBUTES = frozenset({"user", "auth"})
"""What a DRF request knows only once authentication has finished."""


def requester_reads(function) -> list[str]:
    """The ``<expr>.user`` / ``<expr>.auth`` reads in ``function``'s source, as written
    (``["request.user"]``); ``[]`` when there are none or the source is not available."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    except (OSError, TypeError, SyntaxError):
        return []
    return [
        ast.unparse(node)
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr in REQUESTER_ATTRIBUTES
    ]


def prefetch_errors(view_class: type, route: str) -> list[Error]:
    """``caching.E006`` for one hot view class whose key is said not to depend on who asks."""
    if view_class.hot_key_names_requester:
        return []
    name = f"{view_class.__module__}.{view_class.__qualname__}"
    errors = []
    for method_name in ("get_hot_key_id", "is_hot_request"):
        method = getattr(view_class, method_name)
        reads = requester_reads(method)
        if reads and method is not getattr(HotCachedMixin, method_name):
            errors.append(
                Error(
                    f"{name} (route {route!r}) sets hot_key_names_requester = False, but its {method_name}() reads "
                    f"{', '.join(sorted(set(reads)))}: the key is computed before authentication has finished.",
                    hint="Set hot_key_names_requester = True (the default), or key the view by the path or query only.",
                    obj=view_class,
                    id="caching.E006",
                )
            )
    return errors


def check_hot_views(app_configs=None, **kwargs) -> list[Error]:
    """Every routed hot view: served by the mixin, registered, keyed, and access-checked and marked
    ``private, no-store`` if private."""
    errors = []
    seen: set[type] = set()
    for route, view_class, url_name in _routed_view_classes(get_resolver().url_patterns):
        errors.extend(private_route_errors(view_class, route, url_name))
        if view_class not in seen:
            seen.add(view_class)
            errors.extend(hot_view_errors(view_class, route))
            if issubclass(view_class, HotCachedMixin):
                errors.extend(prefetch_errors(view_class, route))
    return errors
