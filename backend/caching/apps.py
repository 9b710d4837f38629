from django.apps import AppConfig
from django.core.signals import setting_changed


class CachingConfig(AppConfig):
    name = "backend.caching"
    label = "caching"

    def ready(self) -> None:
        # Each app declares its hot views in its own ``hot_caches`` module; importing them
        # registers the declarations, and the signal hooks are connected from the registry.
        from django.core import checks as django_checks
        from django.utils.module_loading import autodiscover_modules

        from backend.caching import checks, invalidation
        from backend.common import orm_cache

        autodiscover_modules("hot_caches")
        invalidation.connect_signals()
        django_checks.register(checks.check_hot_views, django_checks.Tags.urls)
        orm_cache.install_atomic_guard()
        setting_changed.connect(_reload_cachalot, dispatch_uid="caching:reload_cachalot")


def _reload_cachalot(setting: str, **kwargs) -> None:
    """cachalot reads its settings once; follow ``override_settings`` in tests and measurements."""
    if setting.startswith("CACHALOT_"):
        from cachalot.settings import cachalot_settings

        from backend.common import orm_cache

        cachalot_settings.reload()
        orm_cache.install_atomic_guard()  # the reload re-patched Atomic without our guard
