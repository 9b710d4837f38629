"""The one declaration per hot view, from which everything else is driven.

Each app declares its hot views in ``<app>/hot_caches.py`` with ``register(HotView(...))``. The
signal hooks (which model changes bump which keys), the rebuild task, the warm-up command, the
refresh-ahead schedule and the statistics all iterate this registry; adding a hot view is one
declaration plus the view that serves it.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from django.conf import settings
from django.db.models import Model, QuerySet


@dataclass(frozen=True)
class Dependency:
    """A model whose changes make some keys of a namespace stale.

    ``id_fields`` name the instance attributes holding the affected key ids; both the current
    value and the value the instance was loaded with count, so moving a row from one owner to
    another refreshes both. ``fan_out`` covers keys reachable only through other rows (a
    renamed user appears in their counterparts' lists): it returns ``(queryset, field)`` pairs,
    the field of each queryset's rows holding affected ids. It runs only when one of
    ``fan_out_when_changed`` changed, on a deletion, and on a creation when ``fan_out_on_create``
    (a new row that shows in other rows' keys: an application counted on its job's client's list);
    every fan-out of one change is one UNION query. A pair may name a row already loaded (a model
    instance, e.g. ``application.job`` when the service has it) instead of a queryset: its field is
    read without a query.
    """

    model: str
    id_fields: tuple[str, ...] = ()
    fan_out: Callable[[Model], Iterable[tuple[QuerySet | Model, str]]] | None = None
    fan_out_when_changed: tuple[str, ...] = ()
    fan_out_on_create: bool = False


@dataclass(frozen=True)
class HotView:
    namespace: str
    build: Callable[[int], object | None]
    """Builds the response data for a key id (plain JSON-able data), or None for a 404."""
    ttl: float
    depends_on: tuple[Dependency, ...]
    all_ids: Callable[[], Iterable[int]]
    """Every key id of the namespace, for ``warm_caches --all``."""
    private: bool = False
    description: str = ""

    def id_of(self, value: object) -> int:
        """The key id that a value of a ``Dependency``'s field names: the value itself (an integer id)."""
        return int(value)

    @property
    def effective_ttl(self) -> float:
        return float(settings.HOT_CACHE_TTLS.get(self.namespace, self.ttl))


@dataclass(frozen=True)
class HotLookup:
    """A namespace whose entries the request that misses builds from what it carries, not from a key id.

    The token namespace (``auth:token``, ``backend/accounts/hot_caches.py``): its key id is a digest of
    the token a request sends, which the server cannot turn back into the token, so no worker, warm-up
    or refresh-ahead can build an entry; the authentication class does on a miss, under the same
    generation, epoch and outage rules as a hot view's payload (``payload.servable``). Its
    dependencies are invalidated by the registry at commit like a hot view's, with ``id_of`` turning
    the values found in the ``Dependency`` fields (a token's key) into key ids. Never rebuilt by
    workers (``invalidation`` enqueues nothing for it), warmed or refreshed ahead; counted in the
    statistics like a hot view.
    """

    namespace: str
    ttl: float
    depends_on: tuple[Dependency, ...]
    id_of: Callable[[object], int]
    """The key id named by a value of a dependency's id field or fan-out field."""
    description: str = ""

    @property
    def effective_ttl(self) -> float:
        return float(settings.HOT_CACHE_TTLS.get(self.namespace, self.ttl))


Declaration = HotView | HotLookup

_registry: dict[str, Declaration] = {}
D = TypeVar("D", HotView, HotLookup)


def register(declaration: D) -> D:
    if declaration.namespace in _registry:
        raise ValueError(f"hot view {declaration.namespace!r} is declared twice")
    _registry[declaration.namespace] = declaration
    return declaration


def get(namespace: str) -> Declaration:
    try:
        return _registry[namespace]
    except KeyError:
        raise LookupError(f"no hot view named {namespace!r}") from None


def get_or_none(namespace: str) -> Declaration | None:
    """The declaration registered under ``namespace``, or None."""
    return _registry.get(namespace)


def all_views() -> list[HotView]:
    """The hot views (built from a key id: rebuilt, warmed, refreshed ahead), not the lookups."""
    return [d for d in _registry.values() if isinstance(d, HotView)]


def all_declarations() -> list[Declaration]:
    """Hot views and lookups: everything the registry invalidates and counts."""
    return list(_registry.values())


def namespaces() -> list[str]:
    """The hot views' namespaces (``all_views()``)."""
    return [view.namespace for view in all_views()]


def all_namespaces() -> list[str]:
    """Every registered namespace, lookups included (statistics, popularity decay)."""
    return list(_registry)


def is_view(namespace: str) -> bool:
    """Whether ``namespace`` is a hot view (a lookup is not rebuilt by workers)."""
    return isinstance(_registry.get(namespace), HotView)
