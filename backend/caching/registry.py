"""The one declaration per hot view, from which everything else is driven.

Each app declares its hot views in ``<app>/hot_caches.py`` with ``register(HotView(...))``. The
signal hooks (which model changes bump which keys), the rebuild task, the warm-up command, the
refresh-ahead schedule and the statistics all iterate this registry; adding a hot view is one
declaration plus the view that serves it.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass

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

    @property
    def effective_ttl(self) -> float:
        return float(settings.HOT_CACHE_TTLS.get(self.namespace, self.ttl))


_registry: dict[str, HotView] = {}


def register(view: HotView) -> HotView:
    if view.namespace in _registry:
        raise ValueError(f"hot view {view.namespace!r} is declared twice")
    _registry[view.namespace] = view
    return view


def get(namespace: str) -> HotView:
    try:
        return _registry[namespace]
    except KeyError:
        raise LookupError(f"no hot view named {namespace!r}") from None


def get_or_none(namespace: str) -> HotView | None:
    """The declaration registered under ``namespace``, or None."""
    return _registry.get(namespace)


def all_views() -> list[HotView]:
    return list(_registry.values())


def namespaces() -> list[str]:
    return list(_registry)
