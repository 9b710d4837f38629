from django.apps import AppConfig


class CachingConfig(AppConfig):
    name = "backend.caching"
    label = "caching"

    def ready(self) -> None:
        # Each app declares its hot views in its own ``hot_caches`` module; importing them
        # registers the declarations, and the signal hooks are connected from the registry.
        from django.utils.module_loading import autodiscover_modules

        from backend.caching import invalidation

        autodiscover_modules("hot_caches")
        invalidation.connect_signals()
