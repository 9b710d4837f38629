"""cachalot's per-thread state, restored on every exit path, and visible to operators.

django-cachalot 2.9.1 changes two pieces of thread state for the duration of a block and restores
neither when the block raises:

- ``cachalot.api.cachalot_disabled()`` sets ``LOCAL_STORAGE.cachalot_enabled = False``, yields,
  and restores the flag after the ``yield`` without ``try``/``finally``. A hot-cache build runs
  inside it, so one build that raised (a database error during a restart, a bug in a builder) left
  that web process's or worker's thread without cachalot's read caching for the rest of its life.
  ``cachalot_off()`` is the exception-safe equivalent; nothing in the project calls
  ``cachalot_disabled`` directly.
- Its patch of ``Atomic.__enter__`` pushes a level on the thread's atomic-cache stack and *then*
  runs Django's ``__enter__``. When that raises (``BEGIN`` refused because the database is
  restarting, a durable block nested by mistake) Python never calls ``__exit__``, so the level
  stays pushed: every later cachalot read and invalidation of that thread lands in a dict in
  process memory that is never committed to Redis, and is never told of other processes' writes.
  ``install_atomic_guard()`` pops the level again when Django's ``__enter__`` raises.

Written by hand: the fixes are a few lines around cachalot's own code, and the pinned release
(2.9.1) has neither. Drop them when an upgrade restores both itself (``tests/caching/test_thread_state.py``
keeps the behaviour either way).
"""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import DEFAULT_DB_ALIAS
from django.db.transaction import Atomic

_MISSING = object()


@contextmanager
def cachalot_off() -> Iterator[None]:
    """Run the block with cachalot off in this thread; the previous state is back however it exits."""
    from cachalot.api import LOCAL_STORAGE

    saved = {name: getattr(LOCAL_STORAGE, name, _MISSING) for name in ("cachalot_enabled", "disable_on_all")}
    LOCAL_STORAGE.cachalot_enabled = False
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is _MISSING:
                if hasattr(LOCAL_STORAGE, name):
                    delattr(LOCAL_STORAGE, name)
            else:
                setattr(LOCAL_STORAGE, name, value)


def cachalot_state() -> dict[str, bool | int]:
    """What cachalot does in the calling thread, for operators (Server-Timing, the cache-stats endpoint).

    ``{"enabled": bool, "enabled_in_settings": bool, "open_atomic_levels": int}``: ``enabled`` is
    whether a read in this thread can be served by cachalot right now (settings and the
    thread's flag); ``open_atomic_levels`` counts the thread's atomic-cache levels on the default
    database, which is 0 outside a transaction (more means a leaked level, see the module doc).
    """
    from cachalot.api import LOCAL_STORAGE
    from cachalot.cache import cachalot_caches
    from cachalot.settings import cachalot_settings

    in_settings = bool(cachalot_settings.CACHALOT_ENABLED)
    return {
        "enabled": in_settings and getattr(LOCAL_STORAGE, "cachalot_enabled", True),
        "enabled_in_settings": in_settings,
        "open_atomic_levels": len(cachalot_caches.atomic_caches[DEFAULT_DB_ALIAS]),
    }


def install_atomic_guard() -> None:
    """Wrap cachalot's ``Atomic.__enter__`` so that a failed enter leaves no atomic-cache level behind.

    Idempotent. cachalot re-patches ``Atomic`` when its settings are reloaded (its ``unpatch`` undoes
    one ``__wrapped__`` layer): our wrapper's ``__wrapped__`` is Django's own method, so an unpatch
    removes both layers and the reload hook in ``backend/caching/apps.py`` installs the guard again.
    """
    from cachalot.cache import cachalot_caches

    patched_enter = Atomic.__enter__
    if getattr(patched_enter, "_restores_cachalot_levels", False) or not hasattr(patched_enter, "__wrapped__"):
        return  # guarded already, or cachalot has not patched Atomic

    def __enter__(self):
        levels = cachalot_caches.atomic_caches[self.using or DEFAULT_DB_ALIAS]
        depth = len(levels)
        try:
            patched_enter(self)
        except BaseException:
            del levels[depth:]
            raise

    __enter__.__wrapped__ = patched_enter.__wrapped__
    __enter__._restores_cachalot_levels = True
    Atomic.__enter__ = __enter__
