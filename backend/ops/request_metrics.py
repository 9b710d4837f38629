"""Request rate and latency by route, method and status, shared by every web process.

``RequestMetricsMiddleware`` (outermost, so it sees the final status and the whole time) notes
each request's route, method, status and duration; when the WSGI server has sent the response and
closes it (Django's ``request_finished`` signal), the observation becomes two counts on the
``ops:http`` hash (the histogram bucket the duration falls in, and the sum in microseconds), kept
in process memory and carried to Redis by the next round trip the process makes anyway (the hot
store's pending counters: a hot hit stays two round trips, token and payload). So that a process
serving no hot read does not hold its counts, a request that finds them older than
``METRICS_FLUSH_INTERVAL`` seconds (default 1) sends them itself, after its response: at most one
extra round trip per process per interval, whatever the request rate. While Redis is unreachable
the counts wait in memory and are sent later (one per distinct field, so bounded by the URLconf).
Prometheus's multiprocess mode would need a shared directory of mmap files on every host and a
scrape that reads all of them; Redis is already shared by every process and read by the collector
(``backend.ops.metrics``), which sends its own process's counts before reading.

The route is the URL pattern's name (``request.resolver_match.view_name``, e.g.
``payments:payment-list``), never the raw path, so the number of series is bounded by the URLconf;
a path that matches no pattern is ``unmatched``. Methods outside RFC 9110's set are ``other``.
"""

import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.signals import request_finished

from backend.caching.store import get_store, pending_counters
from backend.ops import ops_store

# Histogram bucket upper bounds, in seconds: prometheus_client's defaults for HTTP latencies.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, float("inf"))
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"})
UNMATCHED = "unmatched"

_pending = threading.local()


@dataclass(frozen=True)
class Observation:
    route: str
    method: str
    status: int
    seconds: float

    def fields(self) -> tuple[str, str]:
        """The hash fields it increments: its bucket's and the sum's."""
        prefix = f"{self.route}|{self.method}|{self.status}"
        bucket = next(le for le in BUCKETS if self.seconds <= le)
        return f"{prefix}|{format_le(bucket)}", f"{prefix}|sum_us"


def format_le(bound: float) -> str:
    """A bucket bound as Prometheus writes it: ``0.005``, ``1.0``, ``+Inf``."""
    return "+Inf" if bound == float("inf") else repr(float(bound))


class RequestMetricsMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        _pending.observation = Observation(
            route=(match.view_name or UNMATCHED) if match is not None else UNMATCHED,
            method=request.method if request.method in METHODS else "other",
            status=response.status_code,
            seconds=time.perf_counter() - started,
        )
        return response


def record(observation: Observation) -> None:
    """Add one request to the shared counters: in memory, sent with the process's next round trip
    (or now, if the oldest unsent count is older than ``METRICS_FLUSH_INTERVAL``)."""
    bucket_field, sum_field = observation.fields()
    micros = round(observation.seconds * 1_000_000)
    if not ops_store.uses_redis():
        with ops_store.local.lock:
            ops_store.local.http[bucket_field] += 1
            ops_store.local.http[sum_field] += micros
        return
    pending_counters.add(ops_store.HTTP_KEY, bucket_field, 1)
    pending_counters.add(ops_store.HTTP_KEY, sum_field, micros)
    if pending_counters.age() >= settings.METRICS_FLUSH_INTERVAL:
        get_store().flush_counters()


def _flush(**kwargs) -> None:
    observation = getattr(_pending, "observation", None)
    if observation is not None:
        _pending.observation = None
        record(observation)


request_finished.connect(_flush, dispatch_uid="backend.ops.request_metrics")
