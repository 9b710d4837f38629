"""Per-namespace statistics: hits, misses, stale rejects, rebuilds, failures, commit-to-warm latency."""

import os
import statistics

from backend.caching import registry
from backend.caching.store import STAT_FIELDS, get_store
from backend.common.orm_cache import cachalot_state


def _percentile(samples: list[float], fraction: float) -> float | None:
    if not samples:
        return None
    if len(samples) == 1:
        return round(samples[0], 3)
    cut = statistics.quantiles(samples, n=100, method="inclusive")
    return round(cut[max(0, min(98, int(fraction * 100) - 1))], 3)


def collect() -> dict:
    """``{"namespaces": {ns: {hits, misses, ...}}, "cachalot": {...}}``.

    The namespaces' counters are shared by every process (kept in Redis); ``cachalot`` is the state
    of the process and thread that answered: ``{"pid", "enabled", "enabled_in_settings",
    "open_atomic_levels"}`` (``backend.common.orm_cache.cachalot_state``).
    """
    raw = get_store().raw_stats(registry.all_namespaces())
    namespaces = {}
    for ns, (counters, latencies) in raw.items():
        row = {name: int(counters.get(name, 0)) for name in STAT_FIELDS}
        reads = row["hits"] + row["misses"]
        row["hit_rate"] = round(row["hits"] / reads, 4) if reads else 0.0
        row["warm_latency_ms_p50"] = _percentile(latencies, 0.50)
        row["warm_latency_ms_p95"] = _percentile(latencies, 0.95)
        namespaces[ns] = row
    return {"namespaces": namespaces, "cachalot": {"pid": os.getpid(), **cachalot_state()}}


def reset() -> None:
    get_store().reset_stats(registry.all_namespaces())
