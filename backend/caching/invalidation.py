"""Write path: model changes bump the affected keys at commit, then rebuilds are enqueued.

Model signals (post_save, post_delete) collect the affected keys while the transaction runs;
one ``on_commit`` callback per change flushes them. The keys of a transaction are gathered in a
batch kept on the database connection, so the first callback to run bumps them all in one
pipeline and the rest find nothing left to do. A change rolled back with its savepoint leaves its
keys in the batch for the transaction's flush: an extra invalidation, never a missing one; a
batch whose transaction rolled back entirely is dropped.

The flush bumps every key's generation (read-your-writes) and enqueues rebuilds only for the keys
whose popularity (reads counted by the store, decayed hourly) reaches
``HOT_CACHE_REBUILD_MIN_POPULARITY``: the others wait for their next read, which builds them. The
rebuilds of one flush travel in one broker message (``REBUILD_KEYS_TASK``, a list of keys), two when
some are due later (the coalescing window's trailing rebuilds).

Writes that bypass model signals (``bulk_create``, ``QuerySet.update()``) call ``changed()`` or
``invalidate()`` with the same effect.
"""

import logging
import threading
from collections import defaultdict
from collections.abc import Iterable
from functools import reduce

from celery import current_app
from django.apps import apps
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import CharField, Model, QuerySet, Value
from django.db.models.functions import Cast
from django.db.models.signals import post_delete, post_init, post_save

from backend.caching import outage, registry
from backend.caching.breaker import BROKER, breaker_for
from backend.caching.store import get_store

logger = logging.getLogger(__name__)

Key = tuple[str, int]
# The worker's task that rebuilds a transaction's keys (workers/cache.py), enqueued by its name: backend/
# never imports workers/, and the name is what queued messages carry, so it never changes. The one-key
# task, workers.cache.rebuild_hot_key, stays for refresh-ahead and for messages queued before the batching.
REBUILD_KEYS_TASK = "workers.cache.rebuild_hot_keys"
_INITIAL = "_hot_cache_initial"


def _dependencies_by_model() -> dict[type[Model], list[tuple[registry.HotView, registry.Dependency]]]:
    found: dict[type[Model], list] = defaultdict(list)
    for view in registry.all_declarations():
        for dependency in view.depends_on:
            found[apps.get_model(dependency.model)].append((view, dependency))
    return found


def _tracked_fields(dependencies) -> tuple[str, ...]:
    names: set[str] = set()
    for _view, dependency in dependencies:
        names.update(dependency.id_fields)
        names.update(dependency.fan_out_when_changed)
    return tuple(sorted(names))


def _remember_initial(sender, instance, **kwargs) -> None:
    # Runs for every loaded instance of a tracked model: keep it to one dict comprehension.
    values = instance.__dict__
    values[_INITIAL] = {name: values.get(attname) for name, attname in _TRACKED.get(sender, ())}


def _attname(model: type[Model], name: str) -> str:
    if name == "pk":
        return model._meta.pk.attname
    return model._meta.get_field(name).attname


def _value(instance: Model, name: str):
    return instance.pk if name == "pk" else instance.__dict__.get(_attname(type(instance), name))


def affected_keys(instance: Model, *, created: bool = False, deleted: bool = False) -> set[Key]:
    """The hot keys that ``instance``'s change (save or delete) makes stale. May run one query."""
    model = type(instance)
    initial = instance.__dict__.get(_INITIAL, {})
    keys: set[Key] = set()
    fan_outs = []
    for view, dependency in _DEPENDENCIES.get(model, ()):
        for name in dependency.id_fields:
            for value in (_value(instance, name), initial.get(name)):
                if value is not None:
                    keys.add((view.namespace, view.id_of(value)))
        if dependency.fan_out is None:
            continue
        if created:
            changed = dependency.fan_out_on_create
        else:
            changed = deleted or any(initial.get(n) != _value(instance, n) for n in dependency.fan_out_when_changed)
        if changed:
            label = Value(view.namespace, output_field=CharField())
            # As text: one UNION joins integer ids and a lookup's values (a token's key); ``id_of`` maps each.
            for rows, id_field in dependency.fan_out(instance):
                if isinstance(rows, QuerySet):
                    fan_outs.append(rows.order_by().values_list(label, Cast(id_field, output_field=CharField())))
                elif (value := _value(rows, id_field)) is not None:  # a row already loaded: no query
                    keys.add((view.namespace, view.id_of(value)))
    if fan_outs:
        combined = reduce(lambda a, b: a.union(b), fan_outs)
        keys.update((ns, registry.get(ns).id_of(value)) for ns, value in combined if value is not None)
    return keys


class _Batch:
    def __init__(self) -> None:
        self.keys: set[Key] = set()
        self.lock = threading.Lock()

    def add(self, keys: Iterable[Key]) -> None:
        with self.lock:
            self.keys.update(keys)

    def take(self) -> set[Key]:
        with self.lock:
            keys, self.keys = self.keys, set()
        return keys


def _batch_for(using: str) -> _Batch:
    connection = connections[using]
    batch = getattr(connection, "_hot_cache_batch", None)
    # With no commit callback pending, what a batch still holds was rolled back: start afresh,
    # or a connection that rolls back transaction after transaction (a test suite) would grow
    # its batch without bound and flush it all at its next commit.
    if batch is None or not connection.run_on_commit:
        batch = connection._hot_cache_batch = _Batch()
    return batch


def invalidate(keys: Iterable[Key], *, using: str = DEFAULT_DB_ALIAS) -> None:
    """Invalidate ``keys`` when the current transaction commits (at once in autocommit)."""
    keys = set(keys)
    if not keys:
        return
    batch = _batch_for(using)
    batch.add(keys)
    transaction.on_commit(lambda: flush(batch.take()), using=using)


def changed(instance: Model, *, using: str = DEFAULT_DB_ALIAS, deleted: bool = False) -> None:
    """For writes that bypass model signals: treat ``instance`` as saved (or deleted)."""
    invalidate(affected_keys(instance, deleted=deleted), using=using)


def flush(keys: set[Key]) -> None:
    """Bump the generations of ``keys`` now (read-your-writes), then enqueue their rebuilds."""
    if not keys:
        return
    try:
        result = get_store().bump(
            keys, window=settings.HOT_CACHE_COALESCE_WINDOW, popular=settings.HOT_CACHE_REBUILD_MIN_POPULARITY
        )
    except Exception as exc:
        # The keys have left the connection's batch and the write has committed: a bump that
        # raised something other than a Redis failure must still leave a record to replay, and
        # must not stop the transaction's remaining on_commit callbacks (Django drops them).
        logger.exception("hot-cache invalidation of %d key(s) failed; recorded for replay", len(keys))
        outage.record_lost_write("default", f"invalidation raised {exc!r}")
        return
    if result is None:
        return  # Redis unreachable: recorded as an outage, replayed when it is back
    leading, trailing = result
    # A lookup's entries (the token namespace) are built by the request that misses, never by a worker.
    _enqueue(
        [key for key in leading if registry.is_view(key[0])],
        [(key, due) for key, due in trailing if registry.is_view(key[0])],
    )


def _enqueue(leading: list[Key], trailing: list[tuple[Key, float]]) -> None:
    """One message for the leading rebuilds, one for the trailing ones, due when the last of their
    windows closes (a rebuild later than a key's window is still after its last write)."""
    if not settings.HOT_CACHE_WORKER_REBUILD:
        return
    messages = [(leading, None)] if leading else []
    if trailing:
        messages.append(([key for key, _ in trailing], max(due for _, due in trailing)))
    if not messages:
        return
    broker = breaker_for(BROKER)
    if not broker.allow():
        return  # the next read of each key builds it; nothing stale can be served
    try:
        for keys, countdown in messages:
            # A signature, not ``send_task``: it runs the registered task, so eager mode
            # (``CELERY_TASK_ALWAYS_EAGER``, no REDIS_URL) runs the rebuild in this process.
            pairs = [[ns, key_id] for ns, key_id in sorted(keys)]
            current_app.signature(REBUILD_KEYS_TASK, args=(pairs,), countdown=countdown).apply_async()
    except Exception as exc:
        broker.record_failure(exc)
        logger.warning("could not enqueue hot-cache rebuilds (%s); readers will rebuild", exc)
    else:
        broker.record_success()


def _on_save(sender, instance, created=False, raw=False, using=DEFAULT_DB_ALIAS, **kwargs) -> None:
    if raw:
        return
    invalidate(affected_keys(instance, created=created), using=using)
    _remember_initial(sender, instance)


def _on_delete(sender, instance, using=DEFAULT_DB_ALIAS, **kwargs) -> None:
    invalidate(affected_keys(instance, deleted=True), using=using)


_DEPENDENCIES: dict = {}
_TRACKED: dict = {}


def connect_signals() -> None:
    _DEPENDENCIES.clear()
    _DEPENDENCIES.update(_dependencies_by_model())
    _TRACKED.clear()
    for model, dependencies in _DEPENDENCIES.items():
        _TRACKED[model] = tuple((name, _attname(model, name)) for name in _tracked_fields(dependencies))
        uid = f"hot_cache:{model._meta.label}"
        post_init.connect(_remember_initial, sender=model, dispatch_uid=uid, weak=False)
        post_save.connect(_on_save, sender=model, dispatch_uid=uid, weak=False)
        post_delete.connect(_on_delete, sender=model, dispatch_uid=uid, weak=False)
