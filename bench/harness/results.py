"""From what the load generator and the server counted to the figures of ``results.json``.

Pure functions over plain dicts (the JSON the locustfile writes, ``cache_stats --json``), so the
tests can check the arithmetic and the document's shape without running anything.
"""

import os

from bench.harness.metrics import percentile
from bench.harness.wrk import FEED_NAMESPACES, NAMESPACE_READS

# The keys every configuration has in results.json (issue #7); everything else is extra.
REQUIRED_KEYS = (
    "rps",
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "errors",
    "queries_per_request",
    "hit_rate",
    "stale_reads",
    "warm_latency_ms_p95",
)
TARGETS = {
    "full_hot_over_floor": 0.8,
    "full_over_nocache": 10.0,
    "full_over_cachalot": 2.0,
    "hit_rate": 0.97,
    "stale_reads": 0,
    "errors": 0,
    "p99_over_p50": 4.0,
}


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def summarize_phase(raw: dict) -> dict:
    """One phase's figures from the locustfile's output (``ClientMetrics.to_json`` + stale counts)."""
    ops = raw.get("ops", {})
    latencies = [v for op in ops.values() for v in op["latencies_ms"]]
    hot = [v for op in ops.values() if op.get("namespace") for v in op["latencies_ms"]]
    requests = len(latencies)
    window = raw.get("window_s") or 0.0
    timed = sum(op["timed"] for op in ops.values())
    statuses: dict[str, int] = {}
    for op in ops.values():
        for status, n in op["statuses"].items():
            statuses[status] = statuses.get(status, 0) + n
    cache_by_ns: dict[str, dict[str, int]] = {}
    for op in ops.values():
        ns = op.get("namespace")
        if ns and op.get("cache"):
            row = cache_by_ns.setdefault(ns, {})
            for outcome, n in op["cache"].items():
                row[outcome] = row.get(outcome, 0) + n
    stale = raw.get("stale", {})
    return {
        "requests": requests,
        "window_s": window,
        "rps": _round(requests / window, 1) if window else 0.0,
        "p50_ms": _round(percentile(latencies, 0.50)),
        "p95_ms": _round(percentile(latencies, 0.95)),
        "p99_ms": _round(percentile(latencies, 0.99)),
        "mean_ms": _round(sum(latencies) / requests) if requests else None,
        "hot_read_p50_ms": _round(percentile(hot, 0.50)),
        "hot_read_p99_ms": _round(percentile(hot, 0.99)),
        "errors": sum(op["errors"] for op in ops.values()),
        "statuses": dict(sorted(statuses.items())),
        "queries_per_request": _round(sum(op["queries"] for op in ops.values()) / timed, 3) if timed else None,
        "cachalot_hits_per_request": _round(sum(op["cachalot_hits"] for op in ops.values()) / timed, 3)
        if timed
        else None,
        "redis_round_trips_per_request": _round(sum(op["redis_round_trips"] for op in ops.values()) / timed, 3)
        if timed
        else None,
        "server_app_ms_mean": _round(sum(op["app_ms"] for op in ops.values()) / timed, 3) if timed else None,
        "client_hit_rate": {
            ns: _round(row.get("hit", 0) / sum(row.values()), 4) for ns, row in sorted(cache_by_ns.items())
        },
        "client_cache_outcomes": {ns: dict(sorted(row.items())) for ns, row in sorted(cache_by_ns.items())},
        "stale_reads": int(stale.get("stale", 0)),
        "stale_checks": int(stale.get("checked", 0)),
        "stale_examples": stale.get("examples", [])[:5],
        "ops": {
            name: {
                "requests": len(op["latencies_ms"]),
                "p50_ms": _round(percentile(op["latencies_ms"], 0.50)),
                "p99_ms": _round(percentile(op["latencies_ms"], 0.99)),
                "errors": op["errors"],
                "queries_per_request": _round(op["queries"] / op["timed"], 2) if op["timed"] else None,
            }
            for name, op in sorted(ops.items())
        },
    }


def cache_figures(stats: dict | None) -> dict:
    """Hit rate (all hot namespaces together and per namespace) and commit-to-warm latency.

    ``warm_latency_ms_p50``/``p95`` are the worst namespace's (the server keeps percentiles per
    namespace over its last 1,000 worker rebuilds). All None when no hot read was counted (hot
    caches off).
    """
    namespaces = (stats or {}).get("namespaces", {})
    hits = sum(row.get("hits", 0) for row in namespaces.values())
    reads = hits + sum(row.get("misses", 0) for row in namespaces.values())
    p50s = [row["warm_latency_ms_p50"] for row in namespaces.values() if row.get("warm_latency_ms_p50") is not None]
    p95s = [row["warm_latency_ms_p95"] for row in namespaces.values() if row.get("warm_latency_ms_p95") is not None]
    return {
        "hit_rate": round(hits / reads, 4) if reads else None,
        "warm_latency_ms_p50": _round(max(p50s)) if p50s else None,
        "warm_latency_ms_p95": _round(max(p95s)) if p95s else None,
        "namespaces": {
            ns: {
                "hits": row.get("hits", 0),
                "misses": row.get("misses", 0),
                "stale_rejects": row.get("stale_rejects", 0),
                "rebuilds": row.get("rebuilds", 0),
                "hit_rate": row.get("hit_rate") if row.get("hits", 0) + row.get("misses", 0) else None,
                "warm_latency_ms_p50": row.get("warm_latency_ms_p50"),
                "warm_latency_ms_p95": row.get("warm_latency_ms_p95"),
            }
            for ns, row in sorted(namespaces.items())
        },
    }


def client_hit_rate(phase: dict) -> float | None:
    """Hits over every labelled outcome of the hot namespaces, as the responses' Server-Timing said."""
    outcomes = phase.get("client_cache_outcomes", {}).values()
    total = sum(sum(row.values()) for row in outcomes)
    return round(sum(row.get("hit", 0) for row in outcomes) / total, 4) if total else None


def generator_share(busy: dict, part: str) -> float | None:
    """The load generator's share of the machine during a window: its cores busy / the cores there are
    (CPU seconds of the generator / wall seconds / cores)."""
    cores = os.cpu_count()
    return round(busy[part] / cores, 4) if part in busy and cores else None


def config_result(
    mixed: dict,
    stats: dict | None,
    hot: dict | None = None,
    hot_stats: dict | None = None,
    *,
    client_side_hits: bool = False,
) -> dict:
    """One configuration's entry: the issue's keys first, then the extras. ``client_side_hits``: the
    hit rate comes from the responses' Server-Timing (the ttl peer), not from the hot caches' counters."""
    cache = cache_figures(stats)
    if client_side_hits:
        cache["hit_rate"] = client_hit_rate(mixed)
    result = {
        "rps": mixed["rps"],
        "p50_ms": mixed["p50_ms"],
        "p95_ms": mixed["p95_ms"],
        "p99_ms": mixed["p99_ms"],
        "errors": mixed["errors"],
        "queries_per_request": mixed["queries_per_request"],
        "hit_rate": cache["hit_rate"],
        "stale_reads": mixed["stale_reads"],
        "warm_latency_ms_p95": cache["warm_latency_ms_p95"],
        "warm_latency_ms_p50": cache["warm_latency_ms_p50"],
        "requests": mixed["requests"],
        "window_s": mixed["window_s"],
        "mean_ms": mixed["mean_ms"],
        "hot_read_p50_ms": mixed["hot_read_p50_ms"],
        "hot_read_p99_ms": mixed["hot_read_p99_ms"],
        "statuses": mixed["statuses"],
        "cachalot_hits_per_request": mixed["cachalot_hits_per_request"],
        "redis_round_trips_per_request": mixed["redis_round_trips_per_request"],
        "server_app_ms_mean": mixed["server_app_ms_mean"],
        "stale_checks": mixed["stale_checks"],
        "stale_examples": mixed["stale_examples"],
        "hit_rate_by_namespace": {ns: row["hit_rate"] for ns, row in cache["namespaces"].items()},
        "client_hit_rate_by_namespace": mixed["client_hit_rate"],
        "cache_namespaces": cache["namespaces"],
        "ops": mixed["ops"],
    }
    if hot is not None:
        hot_cache = cache_figures(hot_stats)
        if client_side_hits:
            hot_cache["hit_rate"] = client_hit_rate(hot)
        result["hot"] = {
            "rps": hot["rps"],
            "p50_ms": hot["p50_ms"],
            "p95_ms": hot["p95_ms"],
            "p99_ms": hot["p99_ms"],
            "errors": hot["errors"],
            "queries_per_request": hot["queries_per_request"],
            "hit_rate": hot_cache["hit_rate"],
            "stale_reads": hot["stale_reads"],
            "stale_checks": hot["stale_checks"],
            "requests": hot["requests"],
            "redis_round_trips_per_request": hot["redis_round_trips_per_request"],
            "server_app_ms_mean": hot["server_app_ms_mean"],
        }
        if "cpu_cores_busy" in hot:
            result["hot"]["cpu_cores_busy"] = hot["cpu_cores_busy"]
        result["errors"] += hot["errors"]
        result["stale_reads"] += hot["stale_reads"]
    return result


def web_cpu_ms_per_request(phase: dict | None) -> float | None:
    """Web workers' CPU per request (cores busy x 1,000 / req/s): the cost of one request on this
    machine, whatever the queueing in front of it."""
    if not phase or not phase.get("rps") or "web" not in phase.get("cpu_cores_busy", {}):
        return None
    return round(phase["cpu_cores_busy"]["web"] * 1000 / phase["rps"], 3)


def hot_rps(result: dict | None) -> float | None:
    """Throughput on the hot endpoints alone: the hot phase's, or (floor) the run's own."""
    if not result:
        return None
    return result["hot"]["rps"] if result.get("hot") else result["rps"]


def window_rps(result: dict | None, name: str) -> float | None:
    """Throughput of one wrk window of a configuration (``floor``'s healthz, floor, bare_wsgi; ``full``'s
    hot namespaces), or None when it did not run."""
    return (((result or {}).get("windows") or {}).get(name) or {}).get("rps")


def add_ratios(configs: dict[str, dict]) -> None:
    """Each configuration's throughput over ``floor``'s, ``nocache``'s and the ``ttl`` peer's (mixed and
    hot-only), and each wrk window's over the floor's and healthz's wrk windows."""
    floor, nocache, cachalot = configs.get("floor"), configs.get("nocache"), configs.get("cachalot")
    ttl = configs.get("ttl")
    floor_wrk, healthz = window_rps(floor, "floor"), window_rps(floor, "healthz")
    for result in configs.values():
        result["rps_over_ttl"] = _ratio(result["rps"], ttl and ttl["rps"])
        for window in (result.get("windows") or {}).values():
            window["rps_over_floor"] = _ratio(window["rps"], floor_wrk)
            window["rps_over_healthz"] = _ratio(window["rps"], healthz)
        result["rps_over_floor"] = _ratio(result["rps"], floor and floor["rps"])
        result["rps_over_nocache"] = _ratio(result["rps"], nocache and nocache["rps"])
        result["hot_rps_over_floor"] = _ratio(hot_rps(result), hot_rps(floor))
        result["hot_rps_over_nocache"] = _ratio(hot_rps(result), hot_rps(nocache))
        result["hot_rps_over_cachalot"] = _ratio(hot_rps(result), hot_rps(cachalot))


def evaluate_targets(configs: dict[str, dict]) -> list[dict]:
    """The issue's targets, each with the measured value and whether it is met (None: not measured)."""
    full = configs.get("full")

    def target(key: str, label: str, value, met) -> dict:
        return {"key": key, "label": label, "value": value, "target": TARGETS[key], "met": met}

    rows = []
    over_floor = full and full.get("hot_rps_over_floor")
    rows.append(
        target(
            "full_hot_over_floor",
            "full hot-endpoint throughput / floor",
            over_floor,
            None if over_floor is None else over_floor >= 0.8,
        )
    )
    for key, other, minimum in (("full_over_nocache", "nocache", 10.0), ("full_over_cachalot", "cachalot", 2.0)):
        value = full and full.get(f"hot_rps_over_{other}")
        rows.append(target(key, f"full / {other} (hot endpoints)", value, None if value is None else value >= minimum))
    hit_rate = full and full.get("hit_rate")
    rows.append(
        target("hit_rate", "full hit rate (hot namespaces)", hit_rate, None if hit_rate is None else hit_rate >= 0.97)
    )
    # The ttl peer has no invalidation: its stale reads are its measured figure, not a failure.
    stale = sum(r["stale_reads"] for n, r in configs.items() if n != "ttl") if configs else None
    rows.append(
        target(
            "stale_reads",
            "stale reads (all configurations but the ttl peer)",
            stale,
            None if stale is None else stale == 0,
        )
    )
    errors = sum(r["errors"] for r in configs.values()) if configs else None
    rows.append(target("errors", "errors (all configurations)", errors, None if errors is None else errors == 0))
    ratio = _ratio(full and full["p99_ms"], full and full["p50_ms"])
    rows.append(target("p99_over_p50", "full p99 / p50", ratio, None if ratio is None else ratio < 4.0))
    return rows


def _at_least(value: float | None, minimum: float) -> bool | None:
    return None if value is None else value >= minimum


def namespace_hit_rate(full: dict | None, namespace: str) -> float | None:
    """``namespace``'s hit rate in ``full``: the lower of the mixed workload's (server counters) and its own
    wrk window's, whichever were measured."""
    if not full:
        return None
    rates = [
        full.get("hit_rate_by_namespace", {}).get(namespace),
        ((full.get("windows") or {}).get(namespace) or {}).get("hit_rate"),
    ]
    rates = [rate for rate in rates if rate is not None]
    return min(rates) if rates else None


def issue14_targets(configs: dict[str, dict]) -> list[dict]:
    """Issue 14's targets, each ``{key, label, value, goal, met}`` (met None: not measured). Ratios compare
    figures of one load generator: wrk windows with wrk windows, locust's mixed workload with locust's."""
    floor, full, nocache, ttl = (configs.get(name) for name in ("floor", "full", "nocache", "ttl"))
    rows = []

    def row(key: str, label: str, value, goal: str, met) -> None:
        rows.append({"key": key, "label": label, "value": value, "goal": goal, "met": met})

    floor_wrk = window_rps(floor, "floor")
    value = _ratio(floor_wrk, window_rps(floor, "healthz"))
    row("floor_over_healthz", "floor / healthz (wrk)", value, ">= 0.7", _at_least(value, 0.7))
    for namespace in NAMESPACE_READS:
        minimum = 0.8 if namespace in FEED_NAMESPACES else 0.9
        value = _ratio(window_rps(full, namespace), floor_wrk)
        row(
            f"ns_over_floor:{namespace}",
            f"`{namespace}` alone, warm, in full / floor (wrk)",
            value,
            f">= {minimum}",
            _at_least(value, minimum),
        )
    value = _ratio(full and full["rps"], floor and floor["rps"])
    row("mixed_over_floor", "full, mixed workload / floor (locust)", value, ">= 0.7", _at_least(value, 0.7))
    value = _ratio(full and full["rps"], nocache and nocache["rps"])
    row("mixed_over_nocache", "full / nocache, mixed workload", value, ">= 5", _at_least(value, 5.0))
    value = _ratio(full and full["rps"], ttl and ttl["rps"])
    row("full_over_ttl", "full / ttl peer, mixed workload", value, ">= 1.0", _at_least(value, 1.0))
    value = full["stale_reads"] if full else None
    peer = f"{ttl['stale_reads']:,} of {ttl['stale_checks']:,} checked" if ttl else "not run"
    row(
        "full_stale_vs_ttl",
        f"stale reads in full (the ttl peer: {peer})",
        value,
        "0",
        None if value is None else value == 0,
    )
    for namespace in NAMESPACE_READS:
        value = namespace_hit_rate(full, namespace)
        row(f"hit_rate:{namespace}", f"`{namespace}` hit rate in full", value, ">= 99%", _at_least(value, 0.99))
    return rows


def document(*, machine: dict, date: str, params: dict, configs: dict[str, dict], extra: dict | None = None) -> dict:
    """``results.json``: machine, date, params, configs (floor, nocache, cachalot, full), targets, extras."""
    add_ratios(configs)
    main = {name: configs[name] for name in ("floor", "nocache", "cachalot", "full", "ttl") if name in configs}
    silk = {name: configs[name] for name in configs if name.startswith("full_silk")}
    # full_profiled ran only for its profile (driver's ``profile``): its figures carry py-spy's cost.
    for result in silk.values():
        result["rps_over_full"] = _ratio(result["rps"], configs.get("full", {}).get("rps"))
        result["p50_over_full"] = _ratio(result["p50_ms"], configs.get("full", {}).get("p50_ms"))
    doc = {
        "machine": machine,
        "date": date,
        "params": params,
        "configs": main,
        "targets": evaluate_targets(main),
        "issue14_targets": issue14_targets(main),
    }
    if silk:
        doc["silk"] = silk
    doc.update(extra or {})
    return doc
