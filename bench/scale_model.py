"""The scale model of docs/scaling.md: what 10k, 1M and 10M active users need, from the committed figures.

Pure Python, no Django: reads the benchmark's results (``docs/benchmarks/issue14/results.json``, the
``full`` configuration's mixed workload), the cost of writes (``docs/benchmarks/write-cost.json``,
the "after" rows) and the hot caches' memory per user (``docs/benchmarks/payload-sizes.json``,
``manage.py payload_sizes``), applies the assumptions in ``ASSUMPTIONS`` (each with where it comes
from) and prints the table docs/scaling.md carries::

    python -m bench.scale_model            # the "Scale model" tables, as Markdown
    python -m bench.scale_model --json     # inputs and outputs

Formulas (``R`` requests a second, ``W`` writes a second, ``U`` the target utilisation):

- ``R = users x requests_per_active_user_per_s``; ``W = R x write_share``.
- web processes (gunicorn sync: one request at a time each) ``= ceil(R x server_ms_per_request / 1000 / U)``;
  web cores ``= R x web_cpu_ms_per_request / 1000 / U``.
- Celery worker processes ``= ceil(W x worker_cpu_ms_per_write / 1000 / U)``;
  rebuilds a second ``= W x rebuilds_per_write``.
- Redis round trips a second ``= R x redis_round_trips_per_request + W x redis_round_trips_per_write``;
  shards for CPU ``= ceil(round trips x redis_core_ms_per_round_trip / 1000 / U)`` (Redis runs commands on one
  core); memory ``= users x hot_cache_bytes_per_user``, shards for memory ``= ceil(memory / (maxmemory x U))``;
  masters ``= max`` of both, instances ``= masters x (1 + replicas_per_master)``.
- PostgreSQL connections ``= web processes x connections_per_web_process + worker processes + 1`` (beat);
  PostgreSQL cores ``= R x postgres_core_ms_per_request / 1000 / U``, of which the share of statements that
  writes make stays on the primary (the rest may be answered by read replicas).
- The limit hit first: for each single-instance resource, the active users at which one instance is full
  (``capacity x U / demand per user``); the smallest is hit first.
"""

import argparse
import json
import math
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "docs" / "benchmarks" / "issue14" / "results.json"
WRITE_COST = ROOT / "docs" / "benchmarks" / "write-cost.json"
PAYLOAD_SIZES = ROOT / "docs" / "benchmarks" / "payload-sizes.json"
USERS = (10_000, 1_000_000, 10_000_000)

# What is assumed, not measured: (value, where it comes from).
ASSUMPTIONS = {
    "requests_per_active_user_per_s": (
        0.1,
        "assumed, not measured: an active user opens a screen about every 10 s (each screen one API request); "
        "every figure below is linear in it",
    ),
    "write_share": (0.05, "bench/workload.py (`Workload(write_share=0.05)`): the benchmark's 95 % reads, 5 % writes"),
    "target_utilization": (0.7, "assumed: every process and instance sized to run at 70 % of what was measured"),
    "redis_maxmemory_bytes": (8 * 2**30, "assumed: 8 GiB of maxmemory per Redis shard"),
    "redis_replicas_per_master": (1, "issue 16 part 1: three masters, three replicas (one per master)"),
    "connections_per_web_process": (
        2,
        "backend/common/db_routing.py: one persistent connection to the primary and one to the replica "
        "(gunicorn sync, one thread; CONN_MAX_AGE 60 in production)",
    ),
    "postgres_max_connections": (100, "PostgreSQL's default max_connections"),
    "postgres_server_cores": (16, "assumed: the largest single PostgreSQL primary the deployment runs"),
}


def _mean(values) -> float:
    values = list(values)
    return sum(values) / len(values)


def measured(
    results_path: Path = RESULTS, write_cost_path: Path = WRITE_COST, payload_path: Path = PAYLOAD_SIZES
) -> dict[str, tuple[float, str]]:
    """The measured inputs: ``{name: (value, where it comes from)}``."""
    results = json.loads(results_path.read_text())
    full = results["configs"]["full"]
    rps = full["rps"]
    cores = full["cpu_cores_busy"]
    run = f"{results_path.relative_to(ROOT)} (run of {results['date'][:10]}, `full`, mixed workload, {rps} req/s)"
    per_write = json.loads(write_cost_path.read_text())["after"]["per_write"]
    costs = f"{write_cost_path.relative_to(ROOT)} (`after`, mean of the {len(per_write)} kinds of write)"
    sizes = json.loads(payload_path.read_text())
    ops = full["ops"]
    statements = {name: op["requests"] * op["queries_per_request"] for name, op in ops.items()}
    write_statements = sum(v for name, v in statements.items() if name.startswith("write:"))
    return {
        "web_cpu_ms_per_request": (cores["web"] * 1000 / rps, f"{run}: web cores busy {cores['web']} / req/s"),
        "server_ms_per_request": (full["server_app_ms_mean"], f"{run}: Server-Timing `app`, mean"),
        "redis_round_trips_per_request": (full["redis_round_trips_per_request"], f"{run}: Server-Timing `redis`"),
        "redis_core_ms_per_round_trip": (
            cores["redis"] * 1000 / (rps * full["redis_round_trips_per_request"]),
            f"{run}: redis-server cores busy {cores['redis']} / round trips a second",
        ),
        "postgres_core_ms_per_request": (
            cores["postgres"] * 1000 / rps,
            f"{run}: PostgreSQL cores busy {cores['postgres']} / req/s (the worker's rebuild queries included)",
        ),
        "primary_statement_share": (
            write_statements / sum(statements.values()),
            f"{run}: the writes' share of the web's SQL statements (per-operation `queries_per_request`)",
        ),
        "worker_cpu_ms_per_write": (_mean(w["worker_cpu_ms"] for w in per_write.values()), costs),
        "rebuilds_per_write": (_mean(w["rebuilds"] for w in per_write.values()), costs),
        "redis_round_trips_per_write": (_mean(w["redis"] for w in per_write.values()), costs),
        "hot_cache_bytes_per_user": (
            sizes["per_user"]["memory_bytes"],
            f"{payload_path.relative_to(ROOT)}: every hot key of {sizes['users']:,} seeded users built "
            f"({sizes['per_user']['hot_keys']} keys a user), Redis MEMORY USAGE",
        ),
    }


def model(users: int, inputs: dict[str, float]) -> dict[str, float]:
    """What ``users`` active users need (the module's formulas); ``inputs`` merges assumptions and measures."""
    u = inputs["target_utilization"]
    requests = users * inputs["requests_per_active_user_per_s"]
    writes = requests * inputs["write_share"]
    web_processes = math.ceil(requests * inputs["server_ms_per_request"] / 1000 / u)
    workers = max(1, math.ceil(writes * inputs["worker_cpu_ms_per_write"] / 1000 / u))
    round_trips = requests * inputs["redis_round_trips_per_request"] + writes * inputs["redis_round_trips_per_write"]
    memory = users * inputs["hot_cache_bytes_per_user"]
    shards_cpu = math.ceil(round_trips * inputs["redis_core_ms_per_round_trip"] / 1000 / u)
    shards_memory = math.ceil(memory / (inputs["redis_maxmemory_bytes"] * u))
    masters = max(shards_cpu, shards_memory, 1)
    postgres_cores = requests * inputs["postgres_core_ms_per_request"] / 1000 / u
    return {
        "users": users,
        "requests_per_s": requests,
        "writes_per_s": writes,
        "web_processes": web_processes,
        "web_cores": requests * inputs["web_cpu_ms_per_request"] / 1000 / u,
        "worker_processes": workers,
        "rebuilds_per_s": writes * inputs["rebuilds_per_write"],
        "redis_round_trips_per_s": round_trips,
        "redis_memory_bytes": memory,
        "redis_shards_for_cpu": shards_cpu,
        "redis_shards_for_memory": shards_memory,
        "redis_masters": masters,
        "redis_instances": masters * (1 + inputs["redis_replicas_per_master"]),
        "postgres_connections": web_processes * inputs["connections_per_web_process"] + workers + 1,
        "postgres_primary_cores": postgres_cores * inputs["primary_statement_share"],
        "postgres_replica_cores": postgres_cores * (1 - inputs["primary_statement_share"]),
    }


def first_limits(inputs: dict[str, float]) -> list[tuple[str, float]]:
    """``(limit, active users at which one instance is full)``, the first hit first."""
    u, r = inputs["target_utilization"], inputs["requests_per_active_user_per_s"]
    w = r * inputs["write_share"]
    redis_ms = r * inputs["redis_round_trips_per_request"] + w * inputs["redis_round_trips_per_write"]
    connections = r * inputs["server_ms_per_request"] / 1000 / u * inputs["connections_per_web_process"] + (
        w * inputs["worker_cpu_ms_per_write"] / 1000 / u
    )
    limits = [
        (
            "one Redis instance's CPU (a core)",
            u / (redis_ms * inputs["redis_core_ms_per_round_trip"] / 1000),
        ),
        (
            "PostgreSQL's max_connections (without a pooler)",
            (inputs["postgres_max_connections"] - 1) / connections,
        ),
        (
            "one PostgreSQL primary's cores (writes' share only, reads on replicas)",
            inputs["postgres_server_cores"]
            * u
            / (r * inputs["postgres_core_ms_per_request"] / 1000 * inputs["primary_statement_share"]),
        ),
        (
            "one PostgreSQL server's cores (every statement on one server)",
            inputs["postgres_server_cores"] * u / (r * inputs["postgres_core_ms_per_request"] / 1000),
        ),
        ("one Redis instance's memory", inputs["redis_maxmemory_bytes"] * u / inputs["hot_cache_bytes_per_user"]),
    ]
    return sorted(limits, key=lambda item: item[1])


def inputs_table() -> dict[str, float]:
    values = {name: value for name, (value, _) in ASSUMPTIONS.items()}
    values.update({name: value for name, (value, _) in measured().items()})
    return values


def _users(n: float) -> str:
    return f"{n / 1e6:g}M" if n >= 1e6 else f"{n / 1e3:g}k"


def _gib(n: float) -> str:
    return f"{n / 2**30:,.1f} GiB"


def markdown() -> str:
    inputs = inputs_table()
    lines = ["| input | value | from |", "| --- | ---: | --- |"]
    for name, (value, source) in {**measured(), **ASSUMPTIONS}.items():
        shown = _gib(value) if name.endswith("maxmemory_bytes") else f"{value:,.4g}"
        lines.append(f"| `{name}` | {shown} | {source} |")
    rows = [model(n, inputs) for n in USERS]
    lines += ["", "| active users | " + " | ".join(_users(r["users"]) for r in rows) + " |"]
    lines.append("| --- |" + " ---: |" * len(rows))
    fields = (
        ("requests a second", "requests_per_s", "{:,.0f}"),
        ("writes a second", "writes_per_s", "{:,.0f}"),
        ("web processes (gunicorn sync)", "web_processes", "{:,}"),
        ("web cores", "web_cores", "{:,.1f}"),
        ("Celery worker processes", "worker_processes", "{:,}"),
        ("rebuilds a second", "rebuilds_per_s", "{:,.0f}"),
        ("Redis round trips a second", "redis_round_trips_per_s", "{:,.0f}"),
        ("Redis memory (hot caches, before replicas)", "redis_memory_bytes", None),
        ("Redis shards for CPU / for memory", ("redis_shards_for_cpu", "redis_shards_for_memory"), "{:,} / {:,}"),
        ("Redis masters (instances with replicas)", ("redis_masters", "redis_instances"), "{:,} ({:,})"),
        ("PostgreSQL connections", "postgres_connections", "{:,}"),
        (
            "PostgreSQL cores: primary / replicas",
            ("postgres_primary_cores", "postgres_replica_cores"),
            "{:,.1f} / {:,.1f}",
        ),
    )
    for label, key, fmt in fields:
        if fmt is None:
            cells = [_gib(r[key]) for r in rows]
        elif isinstance(key, tuple):
            cells = [fmt.format(*(r[k] for k in key)) for r in rows]
        else:
            cells = [fmt.format(r[key]) for r in rows]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", "| limit, first hit first | active users at which one instance is full |", "| --- | ---: |"]
    lines += [f"| {name} | {users:,.0f} |" for name, users in first_limits(inputs)]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="inputs and outputs as JSON")
    args = parser.parse_args()
    if args.json:
        inputs = inputs_table()
        print(
            json.dumps(
                {
                    "inputs": inputs,
                    "rows": [model(n, inputs) for n in USERS],
                    "first_limits": first_limits(inputs),
                },
                indent=2,
            )
        )
    else:
        print(markdown(), end="")


if __name__ == "__main__":
    main()
