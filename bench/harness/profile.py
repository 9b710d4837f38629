"""Where the web workers' time goes: py-spy's raw (collapsed) stacks summed by layer and function.

py-spy samples the busy threads only, so the shares are of the time the workers were working
(not waiting for a request). Each sample is given to the innermost layer of its stack that this
module recognises: a sample inside the Redis client called by the hot-cache read is "Redis
client", one in DRF's renderer called by the view is "DRF", and so on.
"""

import re
from collections import Counter

# (layer, pattern on the frame's file), innermost match wins; first match in this order otherwise.
LAYERS = (
    ("PostgreSQL driver", re.compile(r"psycopg")),
    ("Redis client", re.compile(r"(^|/)(redis|django_redis)/")),
    ("cachalot", re.compile(r"cachalot/")),
    ("JSON and logging", re.compile(r"(^|/)(json|logging|pythonjsonlogger)/")),
    ("Django ORM", re.compile(r"django/db/")),
    ("hot caches (backend/caching)", re.compile(r"backend/caching/")),
    ("Server-Timing", re.compile(r"backend/observability/(server_timing|meter)")),
    ("application (backend/)", re.compile(r"backend/")),
    ("DRF", re.compile(r"rest_framework/")),
    ("silk", re.compile(r"silk/")),
    ("Django request handling and middleware", re.compile(r"django/")),
    ("whitenoise", re.compile(r"whitenoise/")),
    ("gunicorn (HTTP parsing, worker loop)", re.compile(r"gunicorn/")),
    ("Python runtime and stdlib", re.compile(r".")),
)
_FRAME = re.compile(r"^(?P<function>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")


def _frames(stack: str) -> list[tuple[str, str]]:
    frames = []
    for part in stack.split(";"):
        match = _FRAME.match(part.strip())
        if match:
            frames.append((match.group("function"), match.group("file")))
    return frames


def _layer(frames: list[tuple[str, str]]) -> str:
    for _function, file in reversed(frames):
        for name, pattern in LAYERS[:-1]:
            if pattern.search(file):
                return name
    return LAYERS[-1][0]


def summarize(raw: str, *, top: int = 15) -> dict:
    """``{"samples": n, "layers": [[layer, share], ...], "functions": [[function (file), share], ...]}``."""
    layers: Counter = Counter()
    functions: Counter = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = _frames(stack)
        if not frames:
            continue
        total += n
        layers[_layer(frames)] += n
        function, file = frames[-1]
        functions[f"{function} ({file})"] += n
    if not total:
        return {"samples": 0, "layers": [], "functions": []}
    return {
        "samples": total,
        "layers": [[name, round(n / total, 4)] for name, n in layers.most_common()],
        "functions": [[name, round(n / total, 4)] for name, n in functions.most_common(top)],
    }
