from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "backend.ops"
    label = "ops"

    def ready(self) -> None:
        from backend.observability import request_id
        from backend.ops import beat_heartbeat, checks  # noqa: F401 (checks registers the deployment checks)

        beat_heartbeat.connect()
        request_id.connect()
