"""Deployment checks (``manage.py check --deploy``, which the release step runs with ``--fail-level WARNING``)."""

from django.core.checks import Tags, Warning, register

from backend.ops import broker_placement

CHECK_IDS = {broker_placement.BROKER_EVICTS: "ops.W001", broker_placement.BROKER_SHARES_CACHE_SERVER: "ops.W002"}


@register(Tags.caches, deploy=True)
def check_broker_placement(app_configs, **kwargs) -> list[Warning]:
    """A warning for each way the broker can be evicted (backend/ops/broker_placement.py)."""
    found = broker_placement.problems(broker_placement.configured_broker_url(), broker_placement.configured_cache_url())
    return [Warning(message, hint=broker_placement.HINT, id=CHECK_IDS[code]) for code, message in found]
