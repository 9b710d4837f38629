"""The configurations a benchmark run compares, and what each one switches."""

from dataclasses import dataclass, field

from bench.harness.wrk import NAMESPACE_READS, REFERENCE_WINDOWS


@dataclass(frozen=True)
class Config:
    name: str
    description: str
    env: dict[str, str] = field(default_factory=dict)
    beat: bool = False
    # Every request goes to the constant endpoint (no writes): the framework's own limit.
    floor: bool = False
    # Build the keys the run will read before it starts (the steady state of a running system).
    prewarm: bool = False
    # After the mixed workload, a phase of hot reads only (the hot endpoints' own throughput).
    hot_phase: bool = True
    # py-spy samples the web workers during the measured window; its figures are not reported, only
    # the profile (the sampler's own CPU would otherwise count against the configuration).
    profiled: bool = False
    # Read-only windows under wrk after the locust phases (bench/harness/wrk.py): reference rows
    # (bare_wsgi, healthz, floor) or hot namespaces, each alone.
    wrk_windows: tuple[str, ...] = ()
    # Hit rate from the responses' Server-Timing (the ttl peer's cache_page keeps no server counters).
    client_side_hits: bool = False


_FULL_ENV = {"CACHALOT_ENABLED": "true", "HOT_CACHE_ENABLED": "true", "HOT_CACHE_WORKER_REBUILD": "true"}

CONFIGS: dict[str, Config] = {
    config.name: config
    for config in (
        Config(
            "floor",
            "GET /api/v1/ops/floor/ for every request (constant body; token authentication served by its "
            "auth:token entry)",
            _FULL_ENV,
            beat=True,
            floor=True,
            hot_phase=False,
            wrk_windows=REFERENCE_WINDOWS,
        ),
        Config(
            "nocache",
            "cachalot off, hot caches off",
            {"CACHALOT_ENABLED": "false", "HOT_CACHE_ENABLED": "false", "HOT_CACHE_WORKER_REBUILD": "false"},
        ),
        Config(
            "cachalot",
            "cachalot on (read-mostly tables), hot caches off",
            {"CACHALOT_ENABLED": "true", "HOT_CACHE_ENABLED": "false", "HOT_CACHE_WORKER_REBUILD": "false"},
        ),
        Config(
            "full",
            "cachalot on, hot caches on, rebuilds by the worker, beat's refresh-ahead",
            _FULL_ENV,
            beat=True,
            prewarm=True,
            wrk_windows=tuple(NAMESPACE_READS),
        ),
        # The peer (issue 14 part 6): what a Django team would build instead of the hot caches.
        Config(
            "ttl",
            "Django's per-view cache (cache_page per Authorization, the previous system's TTLs, no invalidation) "
            "on the hot views' routes; cachalot on, hot caches off",
            {
                "CACHALOT_ENABLED": "true",
                "HOT_CACHE_ENABLED": "false",
                "HOT_CACHE_WORKER_REBUILD": "false",
                "TTL_PEER_CACHE": "true",
            },
            client_side_hits=True,
        ),
        # Silk's cost: `full` again with silk recording every request, then as production samples it.
        Config(
            "full_silk",
            "full, with django-silk recording every request (SILK_SAMPLE_PERCENT=100)",
            {**_FULL_ENV, "SILK_ENABLED": "true", "SILK_SAMPLE_PERCENT": "100"},
            beat=True,
            prewarm=True,
            hot_phase=False,
        ),
        Config(
            "full_silk_sampled",
            "full, with django-silk sampling as production configures it (SILK_SAMPLE_PERCENT default)",
            {**_FULL_ENV, "SILK_ENABLED": "true"},
            beat=True,
            prewarm=True,
            hot_phase=False,
        ),
        # Where full's time goes (--profile): full again, with py-spy on the web workers.
        Config(
            "full_profiled",
            "full, with py-spy sampling the web workers (only the profile is kept)",
            _FULL_ENV,
            beat=True,
            prewarm=True,
            hot_phase=False,
            profiled=True,
        ),
    )
}
MAIN_CONFIGS = ("floor", "nocache", "cachalot", "full", "ttl")
SILK_CONFIGS = ("full_silk", "full_silk_sampled")
DEFAULT_CONFIGS = (*MAIN_CONFIGS, *SILK_CONFIGS)
# floor at each size is the machine's speed at that moment (it does not read the data): the yardstick
# that keeps a busier moment from reading as a slower system.
SCALE_CONFIGS = ("floor", "nocache", "full")
SCALE_USERS = (1_000, 10_000, 100_000)
