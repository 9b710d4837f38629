"""The read-only windows under wrk (Debian's ``wrk`` package, a C load generator): the bare WSGI app,
``/healthz``, the floor, and each hot namespace alone, so the generator does not compete for the CPU
it measures the way locust (Python, one core at full load) does.

Each window's requests come from the benchmark's workload (bench/workload.py): the same Zipf-drawn
users and jobs, each request with the real token of the user the workload sends it as (a user's own
payments, account details and dashboards with their own token). They are written to a file of
``path<TAB>token`` lines that wrk.lua walks, each wrk thread from its own offset. The generator's CPU
share (its CPU seconds / wall seconds / cores) is reported with every window.
"""

import json
import os
import random
import shutil
import subprocess
import time
from pathlib import Path
from urllib.parse import quote

from bench.harness import cpu
from bench.workload import READ_MIX, Population, Workload

SCRIPT = Path(__file__).with_name("wrk.lua")
FLOOR_PATH = "/api/v1/ops/floor/"
HEALTHZ_PATH = "/healthz"
# Each hot namespace and the workload's read that opens it (the feed and the dashboards' default pages).
NAMESPACE_READS = {
    **{namespace: name for name, _weight, namespace in READ_MIX if namespace},
    "jobs:open": "open_jobs",
    "dashboard:applications": "my_applications",
    "dashboard:jobs": "my_jobs",
}
# The windows of the targets ">= 0.8 x floor when warm" (issue 14); the others are ">= 0.9 x floor".
FEED_NAMESPACES = ("jobs:open", "dashboard:applications", "dashboard:jobs")
REFERENCE_WINDOWS = ("bare_wsgi", "healthz", "floor")
LINES = 5000  # requests in a window's list (wrk walks it round and round)


def wrk_binary() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise RuntimeError("wrk not found: apt-get install wrk (Debian's package)")
    return path


def requests_for(window: str, population: Population, *, seed: int, count: int = LINES) -> list[tuple[str, str, int]]:
    """``(path, token, key id)`` of a window's requests: ``healthz`` (no token), ``floor`` (every
    user's token drawn as the workload draws its users) or a hot namespace's reads alone. Key id:
    the hot key the request reads (the subject the workload picked; 0 for the feed of every city)."""
    rng = random.Random(seed)
    if window in ("healthz", "bare_wsgi"):
        return [(HEALTHZ_PATH, "", 0)]
    if window == "floor":
        workload = Workload(population, seed=seed, order_seed=seed, write_share=0.0)
        return [(FLOOR_PATH, population.tokens[workload.users.pick()], 0) for _ in range(count)]
    name = NAMESPACE_READS[window]
    workload = Workload(population, seed=seed, order_seed=seed, read_mix=((name, 1, window),), write_share=0.0)
    lines = []
    while len(lines) < count:
        op = workload.next()
        path = op.path
        if window == "jobs:open":
            if rng.random() < 0.5:
                path = "/api/v1/jobs/"  # every city's first page (key 0); otherwise one city's
        elif window.startswith("dashboard:") and "?" in path:
            continue  # a tab other than the default page: not the hot view
        lines.append((quote(path, safe="/?=&"), workload.token_for(op), op.subject_id or 0))
    return lines


def write_requests(path: Path, lines: list[tuple[str, str, int]]) -> None:
    path.write_text("".join(f"{p}\t{token}\n" for p, token, _key in lines))


def summarize(raw: dict, *, window_s: float, generator_cpu_s: float, cores: int) -> dict:
    """A window's figures from wrk.lua's ``done()`` JSON and the generator's CPU time."""
    seconds = raw["duration_us"] / 1e6
    latency = raw["latency_us"]
    return {
        "rps": round(raw["requests"] / seconds, 1) if seconds else 0.0,
        "requests": raw["requests"],
        "window_s": round(seconds, 3),
        "p50_ms": round(latency["p50"] / 1000, 2),
        "p95_ms": round(latency["p95"] / 1000, 2),
        "p99_ms": round(latency["p99"] / 1000, 2),
        "errors": sum(raw["errors"].values()),
        "error_kinds": {kind: n for kind, n in raw["errors"].items() if n},
        "generator": "wrk",
        "generator_cpu_share": round(generator_cpu_s / window_s / cores, 4) if window_s and cores else None,
    }


def run(
    url: str,
    requests_file: Path,
    *,
    duration: float,
    connections: int,
    output: Path,
    roots: dict[int, str] | None = None,
    threads: int = 1,
) -> dict:
    """One wrk run of ``duration`` seconds against ``url`` over ``requests_file``: its figures, the
    cores each part of the machine kept busy (``roots``: our processes by pid) and wrk's CPU share."""
    output.unlink(missing_ok=True)
    argv = [
        wrk_binary(),
        "--threads",
        str(threads),
        "--connections",
        str(max(connections, threads)),
        "--duration",
        f"{max(1, round(duration))}s",
        "--timeout",
        "10s",
        "--script",
        str(SCRIPT),
        url,
    ]
    env = {"PATH": "/usr/bin:/bin", "WRK_REQUESTS": str(requests_file), "WRK_OUT": str(output)}
    log = output.with_suffix(".log")
    before = cpu.snapshot()
    started = time.monotonic()
    with log.open("w") as handle:
        process = subprocess.Popen(argv, env=env, stdout=handle, stderr=subprocess.STDOUT)
    # Reaped with wait4 for its resource usage: wrk's own CPU seconds, whichever of its threads spent them.
    _pid, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - started
    after = cpu.snapshot()
    stdout = log.read_text(errors="replace")
    if process.returncode != 0 or not output.exists():
        raise RuntimeError(f"wrk failed ({process.returncode}):\n{stdout[-2000:]}")
    generator_s = usage.ru_utime + usage.ru_stime
    result = summarize(json.loads(output.read_text()), window_s=wall, generator_cpu_s=generator_s, cores=os.cpu_count())
    busy = cpu.busy_cores(before, after, roots or {}, wall)
    busy["generator"] = round(generator_s / wall, 2) if wall else 0.0
    result["cpu_cores_busy"] = busy
    return result
