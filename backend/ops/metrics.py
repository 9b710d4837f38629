"""The Prometheus exposition behind ``/metrics``: a collector that reads shared state at scrape time.

Everything a process counts lives in Redis (the hot caches' counters, ``backend.caching.store``;
request counters and beat's heartbeat, ``backend.ops.ops_store``) or in the database (outage
records) or the broker (queue depths). The collector reads them when Prometheus scrapes, so the
answer is the same whichever gunicorn worker serves the scrape, without prometheus_client's
multiprocess mode (a directory of mmap files per host, cleaned at each start). A scrape costs two
Redis pipelines, one ``SELECT count(*)``, one broker connection and one passive declare per queue.

Series (every name is prefixed ``paeshift_``):

=========================================================  =========  ======================================
name                                                       type       labels
=========================================================  =========  ======================================
``cache_hits_total``, ``cache_misses_total``,              counter    ``namespace``
``cache_stale_rejects_total``, ``cache_rebuilds_total``,
``cache_rebuild_failures_total``
``cache_commit_to_warm_seconds``                           gauge      ``namespace``, ``quantile`` (0.5,
                                                                      0.95, 0.99 of the last 1000 rebuilds)
``cache_breaker_open``                                     gauge      none (the answering process's breaker)
``cache_redis_up``                                         gauge      none (this scrape reached Redis)
``cachalot_enabled``                                       gauge      none (the answering process)
``cache_epoch_timestamp_seconds``                          gauge      none (0 before the first outage)
``cache_outage_records``                                   gauge      none (rows not yet replayed)
``celery_queue_messages``                                  gauge      ``queue``
``celery_broker_up``                                       gauge      none
``beat_last_run_timestamp_seconds``                        gauge      none (absent until beat sent a task)
``http_request_duration_seconds``                          histogram  ``route``, ``method``, ``status``
=========================================================  =========  ======================================

A source that does not answer leaves its series out of the scrape (and sets the matching ``_up``
gauge to 0) instead of failing it: the scrape must still say what it can during an outage.
"""

import contextlib
import logging
import statistics
from collections import defaultdict

from celery.exceptions import OperationalError as CeleryOperationalError
from django.db import DatabaseError
from kombu.exceptions import ChannelError, OperationalError
from prometheus_client.core import CollectorRegistry, CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from backend.caching import registry
from backend.caching.breaker import breaker_for
from backend.caching.store import STAT_FIELDS, get_store
from backend.common.orm_cache import cachalot_state
from backend.ops import beat_heartbeat, ops_store
from backend.ops.request_metrics import BUCKETS, format_le

logger = logging.getLogger(__name__)

PREFIX = "paeshift"
QUANTILES = (0.5, 0.95, 0.99)
_COUNTER_HELP = {
    "hits": "Hot-cache reads answered from Redis.",
    "misses": "Hot-cache reads that had to build the response.",
    "stale_rejects": "Stored payloads refused because their generation or epoch was no longer current.",
    "rebuilds": "Payloads built and stored (by a worker or on a miss).",
    "rebuild_failures": "Rebuild tasks that raised.",
}


def quantile(samples: list[float], q: float) -> float:
    """The ``q`` quantile of ``samples`` (inclusive method, as ``backend.caching.stats`` uses)."""
    if len(samples) == 1:
        return samples[0]
    return statistics.quantiles(samples, n=100, method="inclusive")[round(q * 100) - 1]


def configured_queues() -> list[str]:
    """The queues the workers consume: the default queue and every queue named by the task routes."""
    from config.celery_app import app

    queues = {app.conf.task_default_queue}
    routes = app.conf.task_routes or {}
    for table in routes if isinstance(routes, list | tuple) else [routes]:
        if isinstance(table, dict):
            queues.update(route["queue"] for route in table.values() if isinstance(route, dict) and "queue" in route)
    return sorted(queues)


def queue_depths(broker_url: str, queues: list[str], timeout: float = 1.0) -> dict[str, int] | None:
    """Messages waiting in each queue, or None when the broker does not answer within ``timeout``.

    Through kombu, whatever the broker: a passive ``queue.declare`` (RabbitMQ answers with the
    queue's ``message_count``; kombu's Redis transport answers with the ``LLEN`` of the queue's
    lists). A queue that does not exist yet holds nothing: Redis deletes an empty list, and
    RabbitMQ declares a queue when the first worker consumes it.
    """
    from config.celery_app import app

    depths = {}
    try:
        with app.connection_for_read(broker_url, connect_timeout=timeout) as connection:
            connection.ensure_connection(max_retries=0, timeout=timeout)
            for queue in queues:
                channel = connection.channel()
                try:
                    depths[queue] = channel.queue_declare(queue=queue, passive=True).message_count
                except ChannelError:  # 404 NOT_FOUND (AMQP) / no such list (Redis): nothing queued
                    depths[queue] = 0
                finally:
                    # AMQP closes a channel after NOT_FOUND itself.
                    with contextlib.suppress(ChannelError, OperationalError, OSError):
                        channel.close()
    except (OperationalError, CeleryOperationalError, OSError) as exc:
        logger.warning("metrics: the broker did not answer: %r", exc)
        return None
    return depths


def _outage_records() -> int | None:
    from backend.caching.models import CacheOutage

    try:
        return CacheOutage.objects.count()
    except DatabaseError as exc:
        logger.warning("metrics: could not count the outage records: %r", exc)
        return None


def _http_rows() -> dict[str, int] | None:
    if not ops_store.uses_redis():
        with ops_store.local.lock:
            return dict(ops_store.local.http)
    get_store().flush_counters()  # this process's own unsent counts first (backend/ops/request_metrics.py)
    raw = ops_store.call(lambda client: client.hgetall(ops_store.HTTP_KEY), None)
    if raw is None:
        return None
    return {field.decode(): int(value) for field, value in raw.items()}


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"{PREFIX}_{name}", documentation, value=value)


class PaeshiftCollector:
    """A ``prometheus_client`` custom collector: every series is read afresh at each scrape."""

    def collect(self):
        yield from self._cache()
        yield from self._outage()
        yield from self._broker()
        yield from self._beat()
        yield from self._http()

    def _cache(self):
        namespaces = registry.all_namespaces()
        reachable = not ops_store.uses_redis() or (ops_store.call(lambda client: client.ping(), False) is True)
        raw = get_store().raw_stats(namespaces) if reachable else {}
        for field in STAT_FIELDS:
            family = CounterMetricFamily(f"{PREFIX}_cache_{field}", _COUNTER_HELP[field], labels=["namespace"])
            for ns in namespaces:
                if ns in raw:
                    family.add_metric([ns], raw[ns][0].get(field, 0))
            yield family
        warm = GaugeMetricFamily(
            f"{PREFIX}_cache_commit_to_warm_seconds",
            "Seconds from a write's commit to its rebuilt payload being stored, quantiles of the last 1000 rebuilds.",
            labels=["namespace", "quantile"],
        )
        for ns in namespaces:
            samples = raw.get(ns, ({}, []))[1]
            for q in QUANTILES if samples else ():
                warm.add_metric([ns, str(q)], quantile(samples, q) / 1000)
        yield warm
        yield _gauge("cache_redis_up", "1 when this scrape reached the cache's Redis.", 1 if reachable else 0)
        yield _gauge(
            "cache_breaker_open",
            "1 while the answering process's circuit breaker in front of Redis is open (requests bypass the cache).",
            1 if breaker_for("redis").is_open else 0,
        )
        yield _gauge(
            "cachalot_enabled",
            "1 when django-cachalot serves ORM queries in the answering process.",
            1 if cachalot_state()["enabled"] else 0,
        )

    def _outage(self):
        epoch = get_store().epoch()
        if epoch is not None:
            yield _gauge(
                "cache_epoch_timestamp_seconds",
                "When the hot caches' epoch was last bumped by an outage replay (Unix time; 0 before the first).",
                int(epoch) / 1e9,
            )
        records = _outage_records()
        if records is not None:
            yield _gauge("cache_outage_records", "Cache outages recorded and not yet replayed.", records)

    def _broker(self):
        from config.celery_app import app

        depths = queue_depths(app.conf.broker_url, configured_queues())
        yield _gauge("celery_broker_up", "1 when this scrape reached the Celery broker.", 0 if depths is None else 1)
        family = GaugeMetricFamily(
            f"{PREFIX}_celery_queue_messages", "Messages waiting in the Celery queue.", labels=["queue"]
        )
        for queue, depth in (depths or {}).items():
            family.add_metric([queue], depth)
        yield family

    def _beat(self):
        last = beat_heartbeat.last_publish()
        if last is not None:
            yield _gauge("beat_last_run_timestamp_seconds", "When beat last sent a task (Unix time).", last)

    def _http(self):
        rows = _http_rows() or {}
        series: dict[tuple[str, str, str], dict[str, int]] = defaultdict(dict)
        for field, value in rows.items():
            route, method, status, le = field.rsplit("|", 3)
            series[(route, method, status)][le] = value
        family = HistogramMetricFamily(
            f"{PREFIX}_http_request_duration_seconds",
            "Time from the request reaching Django to its response leaving the middleware, by URL pattern name.",
            labels=["route", "method", "status"],
        )
        for labels, values in sorted(series.items()):
            cumulative, buckets = 0, []
            for bound in BUCKETS:
                cumulative += values.get(format_le(bound), 0)
                buckets.append((format_le(bound), cumulative))
            family.add_metric(list(labels), buckets, values.get("sum_us", 0) / 1_000_000)
        yield family


def exposition_registry() -> CollectorRegistry:
    """A registry holding only the Paeshift collector (no per-process default collectors, which
    would describe whichever worker answered)."""
    collectors = CollectorRegistry(auto_describe=False)
    collectors.register(PaeshiftCollector())
    return collectors
