from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "backend.ops"
    label = "ops"

    def ready(self) -> None:
        from backend.ops import checks  # noqa: F401 (registers the deployment checks)
