"""The Grafana dashboard's queries plotted with matplotlib from a Prometheus: the picture in docs/operations.md.

Grafana renders the dashboard in the compose file's monitoring profile; this draws the same
queries (docker/grafana/dashboards/paeshift.json) as a PNG without a browser, from any Prometheus
that scrapes a stack. ``make dashboard-png`` runs tests/ops/test_observability.py with
``DASHBOARD_PNG=docs/images/dashboard.png``, which calls ``plot``.
"""

import math
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def _legend(template: str, labels: dict) -> str:
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m[1], ""), template) or "value"


def plot(prometheus, dashboard: dict, out: Path, start: float, end: float, points: int = 120) -> None:
    """One subplot per panel, one line per series of each target, from ``start`` to ``end`` (Unix
    seconds, Prometheus's clock) in ``points`` steps.

    ``prometheus``: anything with ``query_range(expr, start, end, step)`` returning Prometheus's
    matrix result (tests/ops/observed_stack.py's ``Prometheus``).
    """
    step = max((end - start) / points, 0.001)
    panels = dashboard["panels"]
    columns = 2
    rows = math.ceil(len(panels) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(14, 3.2 * rows), squeeze=False)
    for axis, panel in zip(axes.flat, panels, strict=False):
        for target in panel["targets"]:
            for series in prometheus.query_range(target["expr"], start, end, step):
                points = [(float(t) - end, float(v)) for t, v in series["values"] if not math.isnan(float(v))]
                if points:
                    xs, ys = zip(*points, strict=True)
                    axis.plot(xs, ys, label=_legend(target.get("legendFormat", ""), series["metric"]))
        axis.set_title(panel["title"], fontsize=10)
        axis.set_xlabel("seconds before the last scrape")
        axis.set_ylabel(panel.get("fieldConfig", {}).get("defaults", {}).get("unit", ""))
        axis.grid(alpha=0.3)
        if axis.get_legend_handles_labels()[0]:
            axis.legend(fontsize=7, loc="upper left")
    for axis in list(axes.flat)[len(panels) :]:
        axis.set_visible(False)
    figure.suptitle(f"{dashboard['title']} dashboard (docker/grafana/dashboards/paeshift.json)")
    figure.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=90)
    plt.close(figure)
