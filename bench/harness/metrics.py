"""What the load generator records per response, and the summary it writes at the end of a phase.

Pure Python (no Django, no locust): the locustfile feeds it, the tests drive it directly.
"""

import math
from collections import Counter
from dataclasses import dataclass, field

from bench.server_timing import desc_count, parse_server_timing


def percentile(samples: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile (``fraction`` in 0..1) of ``samples``; None when there are none."""
    if not samples:
        return None
    ordered = sorted(samples)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


@dataclass
class OpStats:
    """Everything recorded for one kind of request (``read:profile``, ``write:payment_create``, ...)."""

    kind: str
    namespace: str | None
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    errors: int = 0
    timed: int = 0  # responses that carried a Server-Timing db figure
    queries: int = 0
    cachalot_hits: int = 0
    redis_round_trips: int = 0
    app_ms: float = 0.0
    cache: Counter = field(default_factory=Counter)  # hot-cache outcome: hit, miss, bypass

    def to_json(self) -> dict:
        return {
            "kind": self.kind,
            "namespace": self.namespace,
            "latencies_ms": [round(v, 3) for v in self.latencies_ms],
            "statuses": {str(k): v for k, v in self.statuses.items()},
            "errors": self.errors,
            "timed": self.timed,
            "queries": self.queries,
            "cachalot_hits": self.cachalot_hits,
            "redis_round_trips": self.redis_round_trips,
            "app_ms": round(self.app_ms, 3),
            "cache": dict(self.cache),
        }


class ClientMetrics:
    """Per-op figures of the measured window of one phase."""

    def __init__(self) -> None:
        self.ops: dict[str, OpStats] = {}
        self.started: float | None = None
        self.stopped: float | None = None

    def start(self, now: float) -> None:
        self.ops = {}
        self.started, self.stopped = now, None

    def stop(self, now: float) -> None:
        if self.started is not None and self.stopped is None:
            self.stopped = now

    @property
    def measuring(self) -> bool:
        return self.started is not None and self.stopped is None

    def record(
        self,
        name: str,
        *,
        kind: str,
        namespace: str | None,
        latency_ms: float,
        status: int,
        ok: bool,
        server_timing: str | None,
    ) -> None:
        """One response of the measured window: its latency, status and the server's own figures."""
        if not self.measuring:
            return
        stats = self.ops.get(name)
        if stats is None:
            stats = self.ops[name] = OpStats(kind, namespace)
        stats.latencies_ms.append(latency_ms)
        stats.statuses[status] += 1
        if not ok:
            stats.errors += 1
        timing = parse_server_timing(server_timing)
        queries = desc_count(timing, "db")
        if queries is not None:
            stats.timed += 1
            stats.queries += queries
            stats.cachalot_hits += desc_count(timing, "cachalot") or 0
            stats.redis_round_trips += desc_count(timing, "redis") or 0
            stats.app_ms += (timing.get("app") or {}).get("dur") or 0.0
        outcome = (timing.get("cache") or {}).get("desc")
        if outcome:
            stats.cache[outcome] += 1

    def to_json(self) -> dict:
        window = (self.stopped or self.started or 0.0) - (self.started or 0.0)
        return {
            "window_s": round(window, 3),
            "started": self.started,
            "stopped": self.stopped,
            "ops": {name: stats.to_json() for name, stats in sorted(self.ops.items())},
        }
