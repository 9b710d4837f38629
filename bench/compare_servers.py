"""The web server as a benchmark dimension, in repeated rounds: ``manage.py bench --server S`` for each
server in turn, round after round, then a table of each server's figures and their ratios to
gunicorn-sync's in the same round (docs/benchmarks/servers.md).

    python -m bench.compare_servers --rounds 3 --users 1000 --duration 12 -- --keep-template

Arguments after ``--`` go to every ``manage.py bench``. On a shared machine only ratios within a round
mean much: the servers of one round ran minutes apart, the rounds may not have. Also reported per
configuration: requests per second of web CPU (the web processes' busy cores from the bench's CPU
accounting), which another process's load moves less than the rate itself.

``--summarize DIR``: the table again from the results a previous comparison left in DIR.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from bench.stack import PYTHON, REPO, WEB_SERVERS

BASELINE = "gunicorn-sync"
# (label, configuration, extract): the figures compared; None where a run lacks them.
FIGURES = (
    ("floor req/s", "floor", lambda c: c["rps"]),
    ("full mixed req/s", "full", lambda c: c["rps"]),
    ("full hot reads req/s", "full", lambda c: (c.get("hot") or {}).get("rps")),
    ("floor req/s per web core", "floor", lambda c: _per_core(c["rps"], c.get("cpu_cores_busy"))),
    ("full mixed req/s per web core", "full", lambda c: _per_core(c["rps"], c.get("cpu_cores_busy"))),
    (
        "full hot req/s per web core",
        "full",
        lambda c: _per_core((c.get("hot") or {}).get("rps"), (c.get("hot") or {}).get("cpu_cores_busy")),
    ),
    ("full mixed p99 ms", "full", lambda c: c["p99_ms"]),
)


def _per_core(rps, busy) -> float | None:
    web = (busy or {}).get("web")
    return round(rps / web, 1) if rps and web else None


def run(rounds: int, servers: tuple[str, ...], workdir: Path, bench_args: list[str]) -> None:
    for number in range(1, rounds + 1):
        for server in servers:
            output = workdir / f"round{number}" / server
            if (output / "results.json").exists():
                continue  # resumable: a round already measured is kept
            argv = [PYTHON, str(REPO / "manage.py"), "bench", "--server", server, "--output", str(output)]
            argv += ["--workdir", str(workdir / "work"), *bench_args]
            print(f"round {number}, {server}: {' '.join(argv[1:])}", file=sys.stderr, flush=True)
            subprocess.run(argv, cwd=REPO, env=os.environ, check=True)


def collect(workdir: Path) -> dict[int, dict[str, dict]]:
    """``{round: {server: results.json's configs}}`` of the rounds in ``workdir``."""
    found: dict[int, dict[str, dict]] = {}
    for path in sorted(workdir.glob("round*/*/results.json")):
        number = int(path.parent.parent.name.removeprefix("round"))
        found.setdefault(number, {})[path.parent.name] = json.loads(path.read_text())["configs"]
    return found


def table(found: dict[int, dict[str, dict]]) -> str:
    """Markdown: per figure and server, each round's value and ratio to gunicorn-sync's, then the
    median ratio and its range over the rounds."""
    servers = [s for s in WEB_SERVERS if any(s in r for r in found.values())]
    rounds = sorted(found)
    head = "| figure | server | " + " | ".join(f"round {n}" for n in rounds) + " | median x sync | range x sync |"
    lines = [head, "| --- | --- | " + " | ".join("---:" for _ in rounds) + " | ---: | --- |"]
    for label, config, extract in FIGURES:
        for server in servers:
            cells, ratios = [], []
            for number in rounds:
                try:
                    value = extract(found[number][server][config])
                    base = extract(found[number][BASELINE][config])
                except KeyError:
                    value = base = None
                if value is None:
                    cells.append("-")
                    continue
                if base and server != BASELINE:
                    ratios.append(value / base)
                    cells.append(f"{value:,.0f} ({value / base:.2f}x)")
                else:
                    cells.append(f"{value:,.0f}")
            median = f"{statistics.median(ratios):.2f}" if ratios else ("1.00" if server == BASELINE else "-")
            spread = f"{min(ratios):.2f}-{max(ratios):.2f}" if ratios else "-"
            lines.append(f"| {label} | {server} | " + " | ".join(cells) + f" | {median} | {spread} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    own, bench_args = (argv[: argv.index("--")], argv[argv.index("--") + 1 :]) if "--" in argv else (argv, [])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--servers", default=",".join(WEB_SERVERS), help="comma-separated, in order")
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--duration", type=float, default=12.0)
    parser.add_argument("--warmup", type=float, default=4.0)
    parser.add_argument("--configs", default="floor,full")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/paeshift-servers"))
    parser.add_argument("--summarize", type=Path, help="only print the table of the results in this directory")
    options = parser.parse_args(own)
    if options.summarize:
        print(table(collect(options.summarize)))
        return
    servers = tuple(s.strip() for s in options.servers.split(",") if s.strip())
    unknown = [s for s in servers if s not in WEB_SERVERS]
    if unknown or BASELINE not in servers:
        parser.error(f"servers must be among {', '.join(WEB_SERVERS)} and include {BASELINE}")
    common = ["--scale", str(options.users), "--duration", str(options.duration)]
    common += ["--warmup", str(options.warmup), "--configs", options.configs]
    run(options.rounds, servers, options.workdir.resolve(), common + bench_args)
    print(table(collect(options.workdir.resolve())))


if __name__ == "__main__":
    main()
