from cachalot.settings import cachalot_settings
from django.apps import AppConfig
from django.core import checks as django_checks
from django.core.signals import setting_changed
from django.utils.module_loading import autodiscover_modules

from backend.caching.breaker import REDIS, breaker_for
from backend.common import cache_writes, orm_cache


class CachingConfig(AppConfig):
    name = "backend.caching"
    label = "caching"

    def ready(self) -> None:
        # Imported here, not at the top: these modules import models (the outage record, the
        # domain apps' declarations), which the app registry cannot load while it imports apps.py.
        from backend.caching import checks, invalidation, recovery

        # Each app declares its hot views in its own ``hot_caches`` module; importing them
        # registers the declarations, and the signal hooks are connected from the registry.
        autodiscover_modules("hot_caches")
        invalidation.connect_signals()
        django_checks.register(checks.check_hot_views, django_checks.Tags.urls)
        # The process that saw Redis fail replays lost invalidations the moment it is back.
        breaker_for(REDIS).on_recovery(recovery.recover)
        orm_cache.install_atomic_guard()
        cache_writes.install_fill_guard()  # cachalot's fills are not invalidations
        setting_changed.connect(_reload_cachalot, dispatch_uid="caching:reload_cachalot")


def _reload_cachalot(setting: str, **kwargs) -> None:
    """cachalot reads its settings once; follow ``override_settings`` in tests and measurements."""
    if setting.startswith("CACHALOT_"):
        cachalot_settings.reload()
        orm_cache.install_atomic_guard()  # the reload re-patched Atomic without our guard
