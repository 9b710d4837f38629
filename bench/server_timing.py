"""Reading the ``Server-Timing`` header the API sends (backend/observability/server_timing.py writes it):
one parser for the load generator, ``perf_report`` and the tests.

The header follows the W3C Server Timing syntax (https://www.w3.org/TR/server-timing/): entries
separated by commas, each a name with ``;dur=<milliseconds>`` and ``;desc="<text>"`` parameters.
The product only writes the header; this reading side is measurement tooling, so it lives here.
Written by hand: the standard library parses no Server-Timing, and no maintained package is worth a
dependency for twenty lines.
"""

import re

_PARTS = {sep: re.compile(rf'(?:[^{sep}"]|"[^"]*")+') for sep in (",", ";")}
_LEADING_INT = re.compile(r"^\s*(\d+)")


def _split(text: str, sep: str) -> list[str]:
    """``text`` split on ``sep`` outside double quotes, parts stripped."""
    return [part.strip() for part in _PARTS[sep].findall(text) if part.strip()]


def parse_server_timing(header: str | None) -> dict[str, dict]:
    """``Server-Timing`` as ``{name: {"dur": float | None, "desc": str | None}}``.

    >>> parse_server_timing('cache;desc="hit", db;dur=0.00;desc="0 queries", app;dur=1.42')["db"]
    {'dur': 0.0, 'desc': '0 queries'}
    """
    metrics: dict[str, dict] = {}
    for entry in _split(header or "", ","):
        name, *params = _split(entry, ";")
        values: dict = {"dur": None, "desc": None}
        for param in params:
            key, _, value = param.partition("=")
            key, value = key.strip(), value.strip()
            if value.startswith('"') and value.endswith('"') and len(value) >= 2:
                value = value[1:-1]
            if key == "dur":
                try:
                    values["dur"] = float(value)
                except ValueError:
                    values["dur"] = None
            elif key == "desc":
                values["desc"] = value
        metrics[name] = values
    return metrics


def desc_count(metrics: dict[str, dict], name: str) -> int | None:
    """The number a ``desc`` starts with (``db;desc="3 queries"`` -> 3), or None when absent."""
    entry = metrics.get(name)
    if not entry or not entry.get("desc"):
        return None
    match = _LEADING_INT.match(entry["desc"])
    return int(match.group(1)) if match else None


def desc_counts(metrics: dict[str, dict]) -> dict[str, int]:
    """``{name: n}`` for every entry whose ``desc`` starts with a number (``db``, ``cachalot``, ``redis``)."""
    counts = {name: desc_count(metrics, name) for name in metrics}
    return {name: n for name, n in counts.items() if n is not None}
