"""docs/benchmarks/README.md and its charts, written from results.json (and scale.json when present)."""

import json
from pathlib import Path

from bench.harness.results import namespace_hit_rate, web_cpu_ms_per_request
from bench.harness.wrk import FEED_NAMESPACES, NAMESPACE_READS, REFERENCE_WINDOWS

CHART = "throughput-latency.png"
SCALE_CHART = "scale.png"
ORDER = ("floor", "nocache", "cachalot", "full", "ttl")


def _fmt(value, digits: int = 1, suffix: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}{suffix}"
    return f"{value:,}{suffix}"


def _pct(value) -> str:
    return "-" if value is None else f"{value:.1%}"


def _met(met) -> str:
    return {True: "met", False: "**not met**", None: "not measured"}[met]


def read_windows(doc: dict) -> list[tuple[str, str, dict]]:
    """``(configuration, window, figures)`` of every wrk window: the reference rows, then the namespaces."""
    configs = doc["configs"]
    rows = []
    for window in REFERENCE_WINDOWS:
        figures = ((configs.get("floor") or {}).get("windows") or {}).get(window)
        if figures:
            rows.append(("floor", window, figures))
    for namespace in NAMESPACE_READS:
        figures = ((configs.get("full") or {}).get("windows") or {}).get(namespace)
        if figures:
            rows.append(("full", namespace, figures))
    return rows


def window_goal(window: str) -> tuple[str, float] | None:
    """A window's target as ``(yardstick window, minimum ratio)`` (issue 14), or None (a reference row)."""
    if window == "floor":
        return "healthz", 0.7
    if window in NAMESPACE_READS:
        return "floor", 0.8 if window in FEED_NAMESPACES else 0.9
    return None


NOT_MEASURED = "not measured"
# Colours of the throughput-latency chart: one per series, grey for the reference windows.
WORKLOAD, HOT, REFERENCE = "#4c72b0", "#dd8452", "#8c8c8c"
PERCENTILES = (("p50_ms", "p50", "#55a868"), ("p95_ms", "p95", "#c44e52"), ("p99_ms", "p99", "#8172b2"))


def _bars(axis, xs, values, width, *, color, texts=None, tops=None, rotation=0, fontsize=7.5) -> bool:
    """Bars with their values written on top (at ``tops`` when given: above a target's mark); a missing
    value (None) is a hatched, empty bar labelled "not measured" at a fifth of the panel's height, so
    that absence never reads as zero. True when a bar was missing."""
    axis.bar(
        [x for x, v in zip(xs, values, strict=True) if v is not None],
        [v for v in values if v is not None],
        width,
        color=color,
    )
    texts = texts or [None if v is None else f"{v:,.0f}" for v in values]
    tops = tops or values
    for x, value, text, top in zip(xs, values, texts, tops, strict=True):
        if value is None:
            continue
        axis.annotate(
            text,
            (x, max(value, top or 0)),
            xytext=(0, 2),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=fontsize,
            rotation=rotation,
        )
    missing = [x for x, v in zip(xs, values, strict=True) if v is None]
    if missing:
        height = axis.get_ylim()[1] * 0.2
        axis.bar(missing, [height] * len(missing), width, fill=False, hatch="///", edgecolor="#9a9a9a", linewidth=0.6)
        for x in missing:
            axis.annotate(
                NOT_MEASURED,
                (x, height),
                xytext=(0, 2),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontsize=fontsize - 1,
                rotation=90,
                color="#6a6a6a",
            )
    return bool(missing)


def _legend(axis, series: list[tuple[str, str]], lines: list[tuple[str, str, float]], missing: bool, **options):
    """A legend drawn from what the panel shows, under the panel: ``series`` (label, colour) as patches,
    ``lines`` (label, linestyle, width) as black lines, and the "not measured" hatching when used."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [Patch(color=colour, label=label) for label, colour in series]
    handles += [
        Line2D([], [], color="#222222", linestyle=style, linewidth=width, label=label) for label, style, width in lines
    ]
    if missing:
        handles.append(Patch(fill=False, hatch="///", edgecolor="#9a9a9a", label=NOT_MEASURED))
    axis.legend(handles=handles, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2), frameon=False, **options)


def _readable_y(axis, label: str) -> None:
    axis.set_ylabel(label)
    axis.yaxis.set_major_formatter("{x:,.0f}")
    axis.grid(axis="y", color="#dddddd", linewidth=0.6)
    axis.set_axisbelow(True)


def figure(doc: dict):
    """The throughput-latency figure of a results document (a matplotlib Figure, not saved): three
    panels, every bar labelled with its value, what the run did not measure drawn hatched and labelled
    "not measured", the targets drawn and named with their level.

    - Throughput per configuration (locust): the mixed workload and the hot reads alone, with the
      targets of ``full``'s mixed workload (issue 14: ≥ 0.7 x floor, ≥ 5 x nocache, ≥ 1.0 x ttl) as lines.
    - Every read-only window under wrk (issue 14's references, then each hot namespace in full), each
      target (``window_goal``) as a black mark across its bar and the ratio reached in its label.
    - Latency percentiles per configuration (p50, p95, p99 of the mixed workload, ms).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    configs = doc["configs"]
    names = [*(n for n in ORDER if n in configs), *doc.get("silk", {})]
    rows = {**configs, **doc.get("silk", {})}
    fig, (left, middle, right) = plt.subplots(1, 3, figsize=(20, 7.2), gridspec_kw={"width_ratios": [1.15, 1.6, 1]})
    x = list(range(len(names)))

    mixed = [rows[n]["rps"] for n in names]
    # floor's every request is the constant one: its hot reads alone are its workload.
    hot = [rows[n]["hot"]["rps"] if rows[n].get("hot") else (rows[n]["rps"] if n == "floor" else None) for n in names]
    floor, nocache, ttl = configs.get("floor"), configs.get("nocache"), configs.get("ttl")
    targets = [
        (floor and 0.7 * floor["rps"], "0.7 x floor", ":"),
        (nocache and 5 * nocache["rps"], "5 x nocache", "--"),
        (ttl and ttl["rps"], "1.0 x ttl", "-."),
    ]
    measured = [v for v in (*mixed, *hot) if v is not None] + [t for t, _l, _s in targets if t]
    left.set_ylim(0, max(measured, default=1) * 1.18)
    missing = _bars(left, [i - 0.2 for i in x], mixed, 0.4, color=WORKLOAD)
    missing |= _bars(left, [i + 0.2 for i in x], hot, 0.4, color=HOT)
    lines = []
    for value, text, style in targets:
        if value:
            left.axhline(value, color="#222222", linewidth=1, linestyle=style)
            lines.append((f"target, full's workload ≥ {text} = {value:,.0f}", style, 1))
    left.set_xticks(x, names, rotation=20, ha="right")
    _readable_y(left, "requests / s (locust)")
    left.set_title("Throughput per configuration")
    series = [("mixed workload (95% reads, 5% writes)", WORKLOAD), ("hot reads alone", HOT)]
    _legend(left, series, lines, missing, ncol=1)

    windows = {(config, window): figures for config, window, figures in read_windows(doc)}
    expected = [("floor", w) for w in REFERENCE_WINDOWS] + [("full", ns) for ns in NAMESPACE_READS]
    expected += [key for key in windows if key not in expected]
    by_name = {window: figures for (_config, window), figures in windows.items()}
    wx = list(range(len(expected)))
    values = [windows[key]["rps"] if key in windows else None for key in expected]
    goals = [window_goal(window) for _config, window in expected]
    levels = [
        goal[1] * by_name[goal[0]]["rps"] if goal and by_name.get(goal[0], {}).get("rps") else None for goal in goals
    ]
    texts = []
    for value, goal in zip(values, goals, strict=True):
        yardstick = by_name.get(goal[0], {}).get("rps") if goal else None
        ratio = f"  {value / yardstick:.2f} x {goal[0]}" if value is not None and yardstick else ""
        texts.append(None if value is None else f"{value:,.0f}{ratio}")
    middle.set_ylim(0, max([v for v in values + levels if v is not None], default=1000) * 1.45)
    missing = False
    for colour, reference in ((REFERENCE, True), (HOT, False)):
        picked = [i for i, (_c, w) in enumerate(expected) if (w in REFERENCE_WINDOWS) == reference]
        missing |= _bars(
            middle,
            [wx[i] for i in picked],
            [values[i] for i in picked],
            0.6,
            color=colour,
            texts=[texts[i] for i in picked],
            tops=[levels[i] for i in picked],
            rotation=90,
        )
    for i, level in enumerate(levels):
        if level is not None:
            middle.hlines(level, i - 0.38, i + 0.38, color="black", linewidth=1.8)
    series = [("reference windows (floor configuration)", REFERENCE), ("hot namespace alone, warm (full)", HOT)]
    goal_text = "target: floor ≥ 0.7 x healthz, namespace ≥ 0.9 x floor (feed, dashboards ≥ 0.8 x floor)"
    _legend(middle, series, [(goal_text, "-", 1.8)], missing, ncol=1)
    if not windows:
        middle.text(0.5, 0.6, "this run has no wrk windows", transform=middle.transAxes, ha="center", color="#6a6a6a")
    middle.set_xticks(wx, [window for _c, window in expected], rotation=35, ha="right", fontsize=8)
    _readable_y(middle, "requests / s (wrk)")
    middle.set_title("Read-only windows under wrk, one at a time")

    width = 0.27
    latencies = [rows[n][key] for n in names for key, _l, _c in PERCENTILES if rows[n].get(key) is not None]
    right.set_ylim(0, max(latencies, default=100) * 1.15)
    missing = False
    for offset, (key, _label, colour) in zip((-width, 0, width), PERCENTILES, strict=True):
        bars = [rows[n].get(key) for n in names]
        missing |= _bars(right, [i + offset for i in x], bars, width, color=colour, fontsize=6.5)
    right.set_xticks(x, names, rotation=20, ha="right")
    _readable_y(right, "ms, mixed workload")
    right.set_title("Latency per configuration")
    _legend(right, [(label, colour) for _k, label, colour in PERCENTILES], [], missing, ncol=4)
    params = doc.get("params", {})
    users = params.get("users")
    users_text = f"{users:,} users, " if isinstance(users, int) else ""
    fig.suptitle(
        f"Paeshift, {users_text}{params.get('clients')} clients, {params.get('web_workers')} web workers, "
        f"{doc.get('date', '')[:10]}",
        fontsize=11,
    )
    fig.tight_layout()
    return fig


def chart(doc: dict, path: Path) -> None:
    """``figure(doc)`` written to ``path`` (PNG)."""
    import matplotlib.pyplot as plt

    fig = figure(doc)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _hot(result: dict | None, name: str) -> dict | None:
    """The hot reads alone of a scale row (``floor`` is its own: every request is the constant one)."""
    if not result:
        return None
    if name == "floor":
        return result
    return result.get("hot")


def _over_floor(rows: dict, name: str) -> float | None:
    hot, floor = _hot(rows.get(name), name), rows.get("floor")
    if not hot or not floor or not floor.get("rps"):
        return None
    return hot["rps"] / floor["rps"]


def scale_chart(doc: dict, path: Path) -> None:
    """Hot reads alone by data size: throughput as a fraction of that size's ``floor`` (so a busier
    machine at one size does not read as a slower system), and the cost of one read, warm (``full``)
    and cold (``nocache``): the server's own time and the web workers' CPU."""
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scales = sorted(doc["scales"], key=int)
    users = [int(s) for s in scales]
    names = sorted({n for s in scales for n in doc["scales"][s]}, key=lambda n: ORDER.index(n) if n in ORDER else 9)
    labels = {"full": "full (warm: served from the cache)", "nocache": "nocache (cold: built from the database)"}
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    for name in names:
        rows = [doc["scales"][s] for s in scales]
        if name != "floor":
            left.plot(users, [_over_floor(r, name) for r in rows], marker="o", label=labels.get(name, name))
        hots = [_hot(r.get(name), name) for r in rows]
        right.plot(
            users,
            [h.get("server_app_ms_mean") if h else None for h in hots],
            marker="o",
            label=f"{labels.get(name, name)}, server time",
        )
        right.plot(
            users,
            [web_cpu_ms_per_request(h) for h in hots],
            marker="x",
            linestyle="--",
            label=f"{labels.get(name, name)}, web CPU",
        )
    left.axhline(1.0, color="grey", linewidth=0.8, linestyle=":")
    left.set_ylim(bottom=0)
    left.set_ylabel("hot-read throughput / floor at the same size")
    left.set_title("Throughput of hot reads, relative to floor")
    right.set_ylabel("ms per hot read (mean)")
    right.set_yscale("log")
    right.set_title("Cost of one hot read: server time and web CPU")
    right.yaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
    right.yaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
    right.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    for axis in (left, right):
        axis.set_xscale("log")
        axis.set_xticks(users, [f"{u:,}" for u in users])
        axis.set_xlabel("users seeded")
        axis.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _share(*values) -> str:
    shown = [_pct(v) for v in values if v is not None]
    return " / ".join(shown) if shown else "-"


def _issue14_section(doc: dict) -> list[str]:
    rows = doc.get("issue14_targets")
    if not rows:
        return []
    lines = [
        "### Targets (issue 14)",
        "",
        "Each ratio compares figures of one load generator: wrk's read-only windows with wrk's floor and healthz, "
        "locust's mixed workload with locust's floor.",
        "",
        "| target | measured | goal | |",
        "| --- | ---: | ---: | --- |",
    ]
    for t in rows:
        value = _pct(t["value"]) if t["key"].startswith("hit_rate") else _fmt(t["value"], 2)
        lines.append(f"| {t['label']} | {value} | {t['goal'].replace('>=', '≥')} | {_met(t['met'])} |")
    return [*lines, ""]


def _windows_section(doc: dict) -> list[str]:
    windows = read_windows(doc)
    if not windows:
        return []
    full = doc["configs"].get("full")
    lines = [
        "### Read-only windows under wrk",
        "",
        "wrk (a C load generator, one thread, as many connections as clients) over a list of requests drawn "
        "from the workload, each with the real token of the user it is sent as; the bare WSGI app is gunicorn "
        "with the same settings serving `bench/bare_wsgi.py`. Hit rate: the server's counters over the window "
        "(the lower of it and the mixed workload's is the target's). wrk's CPU share: its CPU seconds / wall "
        "seconds / cores.",
        "",
        "| window | configuration | req/s | x healthz | x floor | target | p50 ms | p99 ms | errors | hit rate "
        "| hit rate, mixed workload | wrk's CPU share |",
        "| --- | --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for config, window, w in windows:
        goal = window_goal(window)
        yardstick = w.get(f"rps_over_{goal[0]}") if goal else None
        met = None if yardstick is None else yardstick >= goal[1]
        target = f"≥ {goal[1]} x {goal[0]}: {_met(met)}" if goal else "-"
        mixed = (full or {}).get("hit_rate_by_namespace", {}).get(window) if window in NAMESPACE_READS else None
        cells = [
            f"`{window}`",
            f"`{config}`",
            _fmt(w["rps"], 0),
            _fmt(w.get("rps_over_healthz"), 2),
            _fmt(w.get("rps_over_floor"), 2),
            target,
            _fmt(w["p50_ms"], 2),
            _fmt(w["p99_ms"], 2),
            str(w["errors"]),
            _pct(w.get("hit_rate")),
            _pct(mixed),
            _pct(w.get("generator_cpu_share")),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    if full:
        lines.append("")
        lines.append(
            "Hit rate per namespace against the ≥ 99% target: "
            + ", ".join(f"`{ns}` {_pct(namespace_hit_rate(full, ns))}" for ns in NAMESPACE_READS)
            + "."
        )
    return [*lines, ""]


def _results_section(doc: dict) -> list[str]:
    configs = doc["configs"]
    params = doc["params"]
    lines = []
    if doc.get("note"):
        lines += [f"> **{doc['note']}**", ""]
    lines += [
        f"Run of {doc['date']}: {params['users']:,} users seeded (seed {params['seed']}), {params['clients']} "
        f"concurrent clients, {params['web_workers']} gunicorn workers, a Celery worker with "
        f"{params['worker_concurrency']} processes; warm-up {params['warmup']:g} s, measured {params['duration']:g} s "
        f"(hot reads alone: {params['hot_duration']:g} s).",
        "",
        "| configuration | req/s | x floor | x nocache | x ttl | p50 ms | p95 ms | p99 ms | errors | SQL / request "
        "| hit rate | stale reads | warm p50 / p95 ms | hot reads alone, req/s | locust's CPU share |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name in [n for n in ORDER if n in configs]:
        r = configs[name]
        hot = r.get("hot")
        hot_cell = "-" if name != "floor" and not hot else _fmt(hot["rps"] if hot else r["rps"], 0)
        cells = [
            f"`{name}`",
            _fmt(r["rps"], 0),
            _fmt(r.get("rps_over_floor"), 2),
            _fmt(r.get("rps_over_nocache"), 2),
            _fmt(r.get("rps_over_ttl"), 2),
            _fmt(r["p50_ms"], 2),
            _fmt(r["p95_ms"], 2),
            _fmt(r["p99_ms"], 2),
            str(r["errors"]),
            _fmt(r["queries_per_request"], 2),
            _pct(r["hit_rate"]),
            f"{r['stale_reads']} of {r['stale_checks']:,}",
            f"{_fmt(r.get('warm_latency_ms_p50'))} / {_fmt(r['warm_latency_ms_p95'])}",
            hot_cell,
            _share(r.get("generator_cpu_share"), (r.get("hot") or {}).get("generator_cpu_share")),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", f"![throughput and latency per configuration]({CHART})", ""]
    lines += _issue14_section(doc)
    lines += _windows_section(doc)
    lines += ["### Targets of the caching issue (7)", ""]
    lines += ["| target | measured | goal | |", "| --- | ---: | ---: | --- |"]
    goals = {
        "full_hot_over_floor": "≥ 0.8",
        "full_over_nocache": "≥ 10",
        "full_over_cachalot": "≥ 2",
        "hit_rate": "≥ 97%",
        "stale_reads": "0",
        "errors": "0",
        "p99_over_p50": "< 4",
    }
    for t in doc.get("targets", []):
        value = _pct(t["value"]) if t["key"] == "hit_rate" else _fmt(t["value"], 2)
        lines.append(f"| {t['label']} | {value} | {goals[t['key']]} | {_met(t['met'])} |")
    lines += ["", "### Per namespace (full)", ""]
    full = configs.get("full")
    if full and full.get("cache_namespaces"):
        lines += [
            "| namespace | hits | misses | hit rate | hit rate seen by clients | rebuilds | warm p50 / p95 ms |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for ns, row in full["cache_namespaces"].items():
            client = full.get("client_hit_rate_by_namespace", {}).get(ns)
            lines.append(
                f"| `{ns}` | {row['hits']:,} | {row['misses']:,} | {_pct(row['hit_rate'])} | {_pct(client)} "
                f"| {row['rebuilds']:,} | {_fmt(row['warm_latency_ms_p50'])} / {_fmt(row['warm_latency_ms_p95'])} |"
            )
    else:
        lines.append("(no `full` run)")
    lines += ["", "### Where the machine's time went (cores busy during the measured window)", ""]
    parts = sorted({p for r in configs.values() for p in r.get("cpu_cores_busy", {})})
    if parts:
        lines += ["| configuration | " + " | ".join(parts) + " |", "| --- |" + " ---: |" * len(parts)]
        for name in [n for n in ORDER if n in configs]:
            busy = configs[name].get("cpu_cores_busy", {})
            lines.append(f"| `{name}` | " + " | ".join(_fmt(busy.get(p), 2) for p in parts) + " |")
    lines += ["", "### The cost of one request", ""]
    lines += [
        "The web workers' CPU per request (cores busy x 1,000 / req/s) and the server's own time per request "
        "(`Server-Timing` app, which includes waiting for PostgreSQL and Redis): what one request costs, "
        "whatever the queueing in front of it.",
        "",
        "| configuration | web CPU per request, ms | server time per request, ms | web CPU per hot read, ms "
        "| server time per hot read, ms | Redis round trips per hot read |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name in [n for n in ORDER if n in configs]:
        r = configs[name]
        hot = _hot(r, name) or {}
        cells = [
            f"`{name}`",
            _fmt(web_cpu_ms_per_request(r), 2),
            _fmt(r.get("server_app_ms_mean"), 2),
            _fmt(web_cpu_ms_per_request(hot), 2),
            _fmt(hot.get("server_app_ms_mean"), 2),
            _fmt(hot.get("redis_round_trips_per_request"), 2),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    if doc.get("silk"):
        lines += ["", "### Silk's cost", ""]
        lines += [
            "| configuration | req/s | x full | p50 ms | p99 ms | errors |",
            "| --- | ---: | ---: | ---: | ---: | ---: |",
        ]
        if full:
            lines.append(
                f"| `full` | {_fmt(full['rps'], 0)} | 1.00 | {_fmt(full['p50_ms'], 2)} "
                f"| {_fmt(full['p99_ms'], 2)} | {full['errors']} |"
            )
        for name, r in doc["silk"].items():
            lines.append(
                f"| `{name}` | {_fmt(r['rps'], 0)} | {_fmt(r.get('rps_over_full'), 2)} | {_fmt(r['p50_ms'], 2)} "
                f"| {_fmt(r['p99_ms'], 2)} | {r['errors']} |"
            )
    if doc.get("profile", {}).get("samples"):
        prof = doc["profile"]
        lines += ["", "### Profile of `full` (py-spy, web workers, busy time)", ""]
        lines += [
            f"{prof['samples']:,} samples at 100 Hz over the measured window of a separate run of `full` with the "
            "same workload (`full_profiled`), so that the sampler's own CPU is in none of the figures above. A "
            "sample goes to the innermost layer of its stack.",
            "",
            "| layer | share |",
            "| --- | ---: |",
        ]
        lines += [f"| {name} | {share:.1%} |" for name, share in prof["layers"]]
        lines += ["", "| innermost function | share |", "| --- | ---: |"]
        lines += [f"| `{name}` | {share:.1%} |" for name, share in prof["functions"]]
    machine = doc.get("machine", {})
    lines += [
        "",
        "### Machine",
        "",
        f"{machine.get('cpu') or 'unknown CPU'}, {machine.get('cores')} cores, {machine.get('memory_gib')} GiB; "
        f"{machine.get('os')}; Python {machine.get('python')}; PostgreSQL {machine.get('postgresql')}; "
        f"Redis {machine.get('redis')}; "
        + ", ".join(f"{k} {v}" for k, v in machine.get("packages", {}).items() if v)
        + f". {machine.get('note', '')}.",
    ]
    return lines


def _scale_section(doc: dict) -> list[str]:
    lines = ["## Scale", ""]
    if doc.get("note"):
        lines += [f"> **{doc['note']}**", ""]
    params = doc["params"]
    lines += [
        f"Run of {doc['date']}: the same workload at each data size, {params['clients']} clients, "
        f"{params['web_workers']} web workers, measured {params['duration']:g} s.",
        "",
        "Hot reads alone are served from the cache in `full` (warm) and built from the database in `nocache` "
        "(cold): both should stay nearly flat as the data grows, thanks to the indexes. The clients keep the "
        "server saturated, so their latency is mostly queueing (16 clients over the throughput); the server's "
        "own time per hot read (`Server-Timing` app) and the web workers' CPU per hot read are the cost of one "
        "read. `floor` runs again at each size and does not read the data: it is the machine's speed at that "
        "moment, and throughput is compared as a fraction of it (a shared machine is busier at one size than "
        "at another).",
        "",
        "| users | configuration | workload req/s | hot reads alone, req/s | hot reads alone x floor "
        "| hot reads alone, p50 / p99 ms | server time per hot read, mean ms | web CPU per hot read, ms "
        "| SQL / request | hit rate | commit-to-warm p95 ms | errors |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for scale in sorted(doc["scales"], key=int):
        rows = doc["scales"][scale]
        for name in sorted(rows, key=lambda n: ORDER.index(n) if n in ORDER else 9):
            r = rows[name]
            hot = _hot(r, name) or {}
            cells = [
                f"{int(scale):,}",
                f"`{name}`",
                _fmt(r["rps"], 0),
                _fmt(hot.get("rps"), 0),
                _fmt(_over_floor(rows, name), 2),
                f"{_fmt(hot.get('p50_ms'), 2)} / {_fmt(hot.get('p99_ms'), 2)}",
                _fmt(hot.get("server_app_ms_mean"), 2),
                _fmt(web_cpu_ms_per_request(hot), 2),
                _fmt(r["queries_per_request"], 2),
                _pct(r["hit_rate"]),
                _fmt(r["warm_latency_ms_p95"]),
                str(r["errors"]),
            ]
            lines.append("| " + " | ".join(cells) + " |")
    lines += ["", f"![hot-read throughput and cost by data size]({SCALE_CHART})", ""]
    return lines


INTRO = """# Benchmarks

The whole stack under a realistic load, configurations side by side in one run: the Procfile's processes under
honcho with the benchmark's settings (`config.settings.bench`: production plus the floor endpoint), gunicorn with a
fixed number of workers, PostgreSQL, Redis, one Celery worker (and beat where the configuration has hot caches),
silk off unless said. Figures are relative to `floor`, the framework's own limit on the same machine, so
they mean the same on any machine.

## How to reproduce

With PostgreSQL and Redis running (`DATABASE_URL` and `REDIS_URL` name the servers; defaults
`postgres://postgres@127.0.0.1:5432` and `redis://127.0.0.1:6379`):

```
make bench          # 10,000 users, every configuration, 30 s each: writes this README, results.json and the chart
make bench-smoke    # 200 users, a few seconds each, checks that full beats nocache (what CI runs)
make bench-scale    # floor, nocache and full at 1,000, 10,000 and 100,000 users: scale.json, the Scale section
make bench BENCH_ARGS="--duration 60 --clients 32 --profile"   # any option of `manage.py bench --help`
```

The bench creates its own databases on the PostgreSQL server, named after `DATABASE_URL`'s database
(`<name>_bench_tpl_*`, seeded once, and a fresh copy `<name>_bench_run_*` per configuration, dropped afterwards), uses
Redis databases 8 (cache) and 9 (broker) of the Redis server (`--cache-db`, `--broker-db`), and leaves the logs of
every process in `/tmp/paeshift-bench/<date>/`. On 2 cores `make bench` takes 12 to 20 minutes (seeding 10,000 users
about a minute; building the hot keys of each `full` run 20 s to 2 min, depending on how busy the machine is),
`--profile` adds 2 to 3 minutes, and `make bench-scale` takes about 22
minutes (seeding 100,000 users about 4 minutes). While it runs, stderr shows where it is and the time left: on a
terminal a bar (the configuration, its phase, the measured seconds done of the run's total, the time left at the
pace so far, setup included); elsewhere (CI, a log file) a line per phase; nothing with `--quiet`
(`bench/harness/progress.py`). `make bench` installs the benchmark's toolchain (`requirements/lock/bench.txt`) first.

The chart labels every bar with its figure, draws what a run did not measure as a hatched bar labelled "not
measured" (a configuration without a hot-reads phase, a run without wrk windows), and draws each target with its
level: the lines of `full`'s mixed workload in the throughput panel, a black mark across each wrk window's bar.

## What is measured

- **Configurations.** `floor`: every request is `GET /api/v1/ops/floor/`, a constant small JSON body behind the
  same middleware, token authentication (served by its `auth:token` entry), permission check and renderer; no writes.
  `nocache`: cachalot and hot caches off. `cachalot`: cachalot on (read-mostly tables), hot caches off. `full`:
  cachalot and hot caches on, rebuilds by the worker, beat's refresh-ahead.
  `ttl`: the peer, what a Django team would build instead: Django's per-view cache (`cache_page`, varying on
  `Authorization`) on every hot view's route, with the previous system's TTLs (its architecture notes: payments
  5 min, reviews 30 min, profiles and account details 1 h, a job 30 min; the feed and the dashboards, which it did
  not cache, their declarations' 10 min) and no event-driven invalidation (`bench/ttl_peer.py`,
  `TTL_PEER_CACHE=true`, benchmark settings only); cachalot on, hot caches off; its hit rate is counted from the
  responses' `Server-Timing`, its stale reads by the same judge as every configuration's. `full_silk` and
  `full_silk_sampled`:
  `full` with django-silk recording every request, then sampling as production configures it. `full_profiled`
  (with `--profile`): `full` once more with py-spy sampling the web workers; only its profile is reported.
- **Workload** (`bench/workload.py`, the one every measurement uses): users drawn from a Zipf distribution
  (exponent 1.1, the same hot users for every client), 95% reads over the six hot endpoints (a quarter through
  their legacy paths), the open jobs list and each side's own list (a worker's applications or upcoming shifts, a
  client's posted jobs), 5% writes (payments created and later settled by staff, reviews, applications, profile and
  account updates). Each virtual client has its own seed, its own share of the one-time
  targets (so no two clients race for the same review or application: a 409 would be an error), and a real token.
  Load comes from locust (`FastHttpUser`, no think time) in its own process, on the same machine; its CPU share
  (its CPU seconds / wall seconds / cores) is reported with each configuration.
- **Read-only windows under wrk** (`bench/harness/wrk.py`): a C load generator, so the server is what is
  measured. After `floor`'s locust phase: the bare WSGI app (gunicorn, the same settings, `bench/bare_wsgi.py`),
  Django's `/healthz` and the floor; after `full`'s phases: each hot namespace alone, its keys built first (the
  feed's nine keys by the window's warm-up). Each request carries the real token of the user it is sent as.
- **Phases.** Each configuration runs on a fresh copy of the seeded database with empty Redis databases. It then
  starts from the steady state of a running system, restricted to what the run will touch (the clients'
  workloads are replayed without a server to find out): each client token has been authenticated (its
  `auth:token` entry stored with hot caches on; cachalot holding the query with them off); with hot caches on,
  every key the run will read has been built (the worker's own rebuild, by as many processes as the worker has,
  as `warm_caches --all` would leave it). Then a
  warm-up, the server's counters reset, and the measured window. Then, except for `floor`, a second window of hot
  reads alone: the throughput of the hot endpoints themselves, which is what the targets compare with `floor`.
  The configurations run one after another, so a shared machine can be faster for one than for another: compare
  figures from one run, and a repeat run to see the spread.
- **Figures.** Throughput and latency percentiles are measured by the client over the window. Errors are non-2xx
  responses (every op of the workload should succeed). SQL queries per request are the server's own count,
  from the `Server-Timing` header of every response. Hit rate and commit-to-warm latency come from the server's
  counters (`cache_stats --json`, reset at the start of the window; the latency is the worst namespace's). Stale
  reads: every read of a profile, account details, payments, reviews received or given is checked against the
  writes acknowledged before it was sent (`bench/staleness.py`): a headline, bank name or payment
  status older than an acknowledged write, or an acknowledged new payment or review missing from the first page.

"""


def readme(results_doc: dict | None, scale_doc: dict | None) -> str:
    lines = [INTRO.rstrip(), ""]
    lines += ["## Results", ""]
    lines += _results_section(results_doc) if results_doc else ["No run yet: `make bench`.", ""]
    lines.append("")
    if scale_doc:
        lines += _scale_section(scale_doc)
    else:
        lines += ["## Scale", "", "No scale run yet: `make bench-scale`.", ""]
    return "\n".join(lines).rstrip() + "\n"


def write_all(output: Path) -> None:
    """Regenerate README.md and the charts from the JSON files in ``output``."""
    results_path, scale_path = output / "results.json", output / "scale.json"
    results_doc = json.loads(results_path.read_text()) if results_path.exists() else None
    scale_doc = json.loads(scale_path.read_text()) if scale_path.exists() else None
    if results_doc:
        chart(results_doc, output / CHART)
    if scale_doc:
        scale_chart(scale_doc, output / SCALE_CHART)
    (output / "README.md").write_text(readme(results_doc, scale_doc))
