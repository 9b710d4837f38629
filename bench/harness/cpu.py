"""CPU time per part of the machine during a measured window (Linux ``/proc``), so a report can
say which process was busy: the web workers, the Celery worker, PostgreSQL, Redis, the load
generator, or something else on the machine (a noisy neighbour makes a run worth repeating)."""

import os
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _read_stat(pid: str) -> tuple[str, int, float] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # comm is in parentheses and may hold spaces; the fields after it are space-separated.
    comm = raw[raw.index("(") + 1 : raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2 :].split()
    ppid = int(fields[1])
    ticks = int(fields[11]) + int(fields[12])  # utime + stime
    return comm, ppid, ticks / _TICKS


def snapshot() -> dict[int, tuple[str, int, float]]:
    """``{pid: (comm, ppid, cpu seconds)}`` for every process we can see."""
    if not os.path.isdir("/proc"):
        return {}
    processes = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _read_stat(entry)
            if stat is not None:
                processes[int(entry)] = stat
    return processes


def classify(pid: int, processes: dict, roots: dict[int, str]) -> str:
    """The part a process belongs to: one of ``roots`` (a process we started, or its descendants),
    PostgreSQL, Redis, or ``other``."""
    seen = set()
    current = pid
    while current in processes and current not in seen:
        if current in roots:
            return roots[current]
        seen.add(current)
        current = processes[current][1]
    comm = processes[pid][0]
    if comm.startswith("postgres") or comm.startswith("postmaster"):
        return "postgres"
    if comm.startswith("redis"):
        return "redis"
    return "other"


def busy_cores(before: dict, after: dict, roots: dict[int, str], seconds: float) -> dict[str, float]:
    """Cores used on average by each part between two snapshots (1.0 = one core busy)."""
    if seconds <= 0:
        return {}
    usage: dict[str, float] = {}
    for pid, (comm, _ppid, cpu) in after.items():
        start = before.get(pid)
        # A process that started during the window counts from zero.
        spent = cpu - (start[2] if start and start[0] == comm else 0.0)
        if spent <= 0:
            continue
        part = classify(pid, after, roots)
        usage[part] = usage.get(part, 0.0) + spent
    return {part: round(total / seconds, 2) for part, total in sorted(usage.items(), key=lambda kv: -kv[1])}
