"""Request rate and latency by route, method and status, shared by every web process.

``RequestMetricsMiddleware`` (outermost, so it sees the final status and the whole time) notes
each request's route, method, status and duration; when the WSGI server has sent the response and
closes it (Django's ``request_finished`` signal), the observation goes to Redis in one pipelined
round trip: two ``HINCRBY`` on the ``ops:http`` hash (the histogram bucket the duration falls in,
and the sum in microseconds). So the client never waits for it, and while the cache's circuit
breaker is open nothing is sent at all (the observation is dropped: metrics must not queue up
behind a dead Redis). Prometheus's multiprocess mode would need a shared directory of mmap files
on every host and a scrape that reads all of them; Redis is already shared by every process and
read by the collector (``backend.ops.metrics``).

The route is the URL pattern's name (``request.resolver_match.view_name``, e.g.
``payments:payment-list``), never the raw path, so the number of series is bounded by the URLconf;
a path that matches no pattern is ``unmatched``. Methods outside RFC 9110's set are ``other``.
"""

import threading
import time
from dataclasses import dataclass

from django.core.signals import request_finished

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
    """Add one request to the shared counters: one pipelined round trip, none while the breaker is open."""
    bucket_field, sum_field = observation.fields()
    micros = round(observation.seconds * 1_000_000)
    if ops_store.redis_client() is None:
        with ops_store.local.lock:
            ops_store.local.http[bucket_field] += 1
            ops_store.local.http[sum_field] += micros
        return

    def op(client):
        pipe = client.pipeline(transaction=False)
        pipe.hincrby(ops_store.HTTP_KEY, bucket_field, 1)
        pipe.hincrby(ops_store.HTTP_KEY, sum_field, micros)
        pipe.execute()

    ops_store.call(op, None, may_probe=False)


def _flush(**kwargs) -> None:
    observation = getattr(_pending, "observation", None)
    if observation is not None:
        _pending.observation = None
        record(observation)


request_finished.connect(_flush, dispatch_uid="backend.ops.request_metrics")
