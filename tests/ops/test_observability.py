"""The operator's tools against a running Procfile stack (tests/ops/observed_stack.py), one stack for all:

- Debian's Prometheus scrapes ``/metrics`` with the compose file's job, and every documented series
  is there (asked through Prometheus's HTTP API, ``/api/v1/query``);
- every PromQL query of the Grafana dashboard (docker/grafana/dashboards/paeshift.json) returns
  series; the same queries are plotted with matplotlib (``DASHBOARD_PNG=docs/images/dashboard.png``
  writes the picture in docs/operations.md; ``make dashboard-png`` does);
- Flower's API lists the running worker and the tasks it ran (task events on);
- beat's heartbeat: a recent ``paeshift_beat_last_run_timestamp_seconds``, no ``beat_stale`` in ``/readyz``;
- a local Sentry receiver gets an unhandled view error and a failed rebuild, both caused by a real
  fault (the reviews table renamed away under the running stack), and beat's cron monitor check-ins.
"""

import json
import os
import re
import secrets
import time
from pathlib import Path

import psycopg
import pytest
import redis
from celery import Celery

from backend.caching import registry
from backend.caching.store import payload_key
from bench.stack import BIN, REPO, create_database, drop_database, free_port, stack_environment
from tests.ops import dashboard_plot
from tests.ops.observed_stack import PROMETHEUS, ObservedStack, Prometheus, SentryReceiver, flower_credentials
from tests.redis_server import RedisServer
from tests.stack import Api, Stack, run, service_urls, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis]

DASHBOARD = REPO / "docker" / "grafana" / "dashboards" / "paeshift.json"
# Every series /metrics documents (backend/ops/metrics.py), as Prometheus stores them.
SERIES = [
    "paeshift_cache_hits_total",
    "paeshift_cache_misses_total",
    "paeshift_cache_stale_rejects_total",
    "paeshift_cache_rebuilds_total",
    "paeshift_cache_rebuild_failures_total",
    "paeshift_cache_commit_to_warm_seconds",
    "paeshift_cache_breaker_open",
    "paeshift_cache_redis_up",
    "paeshift_cachalot_enabled",
    "paeshift_cache_epoch_timestamp_seconds",
    "paeshift_cache_outage_records",
    "paeshift_celery_queue_messages",
    "paeshift_celery_broker_up",
    "paeshift_beat_last_run_timestamp_seconds",
    "paeshift_http_request_duration_seconds_bucket",
    "paeshift_http_request_duration_seconds_count",
    "paeshift_http_request_duration_seconds_sum",
]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    if not PROMETHEUS.exists():
        if os.environ.get("CI"):
            pytest.fail("/usr/bin/prometheus is missing: .ci/run installs Debian's prometheus package")
        pytest.skip("needs Debian's prometheus package (apt-get install prometheus)")
    given_database, _ = service_urls()
    workdir = tmp_path_factory.mktemp("observed")
    name = f"paeshift_obs_{secrets.token_hex(4)}"
    database_url = create_database(given_database, name)
    cache, broker = RedisServer(), RedisServer("--maxmemory-policy", "noeviction")
    sentry = SentryReceiver()
    started: list = [cache, broker]
    processes = prometheus = None
    try:
        cache.start()
        broker.start()
        token, flower_port, flower_auth = secrets.token_urlsafe(32), free_port(), flower_credentials()
        port = free_port()
        env = stack_environment(
            database_url,
            cache.url,
            port,
            workdir,
            CELERY_BROKER_URL=broker.url,
            METRICS_TOKEN=token,
            SENTRY_DSN=sentry.dsn,
            SENTRY_ENVIRONMENT="e2e",
            FLOWER_PORT=str(flower_port),
            FLOWER_BASIC_AUTH=flower_auth,
            # A monitored beat entry (Sentry's crons take intervals of a minute or more) due within the test.
            SILK_GARBAGE_COLLECT_PERIOD="60",
        )
        release = run([str(BIN / "honcho"), "-f", "Procfile", "start", "release"], env)
        assert release.returncode == 0, release.stdout + release.stderr
        processes = Stack(env, ("web", "worker", "beat", "flower"))
        prometheus = Prometheus(workdir, f"127.0.0.1:{port}", token)
        processes.wait_ready()
        prometheus.wait_ready()
        observed = ObservedStack(
            env, processes.honcho, processes.api, prometheus, sentry, database_url, flower_port, flower_auth
        )
        observed.users = _traffic(processes.api)
        yield observed
    finally:
        if prometheus is not None:
            prometheus.close()
        if processes is not None:
            processes.close()
        sentry.close()
        for server in started:
            server.close()
        drop_database(given_database, name)


def _traffic(api: Api) -> dict[str, int]:
    """Writes (invalidations the worker rebuilds) and reads (misses, then hits) through the API."""
    client_id, client_token = api.register("client@obs.example", "Clara Client")
    worker_id, worker_token = api.register("worker@obs.example", "Walter Worker")
    for _ in range(3):
        api.expect(200, "GET", f"/api/v1/users/{worker_id}/profile/", token=client_token)
        api.expect(200, "GET", "/api/v1/me/account-details/", token=worker_token)
        api.expect(200, "GET", f"/api/v1/users/{worker_id}/reviews/")
    # A write to keys just read (so popular): the worker rebuilds them; the registrations' keys, never read
    # before, were only invalidated (docs/caching.md, "Write path").
    api.expect(200, "PATCH", "/api/v1/me/profile/", token=worker_token, body={"headline": "Forklift driver"})
    api.expect(404, "GET", "/api/v1/no-such-path/")
    return {"client": client_id, "worker": worker_id}


def test_prometheus_scrapes_every_series_from_the_running_stack(stack):
    prometheus = stack.prometheus
    # Commit-to-warm samples exist once the worker rebuilt what the writes invalidated.
    wait_until(
        lambda: all(prometheus.query(name) for name in SERIES),
        45,
        lambda: f"missing: {[name for name in SERIES if not prometheus.query(name)]}",
        step=0.5,
    )

    assert prometheus.query('up{job="paeshift"}')[0]["value"][1] == "1"
    assert {row["metric"]["namespace"] for row in prometheus.query("paeshift_cache_hits_total")} == set(
        registry.all_namespaces()
    )  # every hot view and the token lookup
    # A process sends the hits it counted with its next Redis round trip (backend/caching/store.py's
    # PendingCounters); a scrape that lands on it is one: within a few scrapes every worker's are in.
    wait_until(
        lambda: (
            len(prometheus.query('paeshift_cache_hits_total{namespace=~"profile:user|account_details:user"} >= 1')) == 2
        ),
        15,
        lambda: f"hits: {prometheus.query('paeshift_cache_hits_total')}",
        step=0.5,
    )
    warm = prometheus.query("paeshift_cache_commit_to_warm_seconds")
    assert {row["metric"]["quantile"] for row in warm} == {"0.5", "0.95", "0.99"}
    assert all(0 < float(row["value"][1]) < 30 for row in warm)
    assert {row["metric"]["queue"] for row in prometheus.query("paeshift_celery_queue_messages")} == {
        "cache",
        "default",
    }
    assert float(prometheus.query("paeshift_cachalot_enabled")[0]["value"][1]) == 1
    assert float(prometheus.query("paeshift_cache_breaker_open")[0]["value"][1]) == 0
    assert float(prometheus.query("paeshift_cache_outage_records")[0]["value"][1]) == 0

    # Request series are labelled by URL pattern name, never by the raw path.
    # Like the hits, a process's request counts ride its next Redis round trip (at the latest its first
    # request after METRICS_FLUSH_INTERVAL): the last request of the traffic shows within a few scrapes.
    def labelled() -> dict[str, str]:
        return {
            row["metric"]["route"]: row["metric"]["status"]
            for row in prometheus.query("paeshift_http_request_duration_seconds_count")
        }

    routes = wait_until(lambda: "unmatched" in labelled() and labelled(), 15, lambda: f"routes: {labelled()}", step=0.5)
    assert routes["user-profile"] == "200"
    assert routes["unmatched"] == "404"
    assert not [route for route in routes if "/" in route]


def test_every_dashboard_query_returns_series_and_plots(stack, tmp_path):
    dashboard = json.loads(DASHBOARD.read_text())
    targets = [(panel["title"], target["expr"]) for panel in dashboard["panels"] for target in panel["targets"]]
    assert len(targets) >= 9

    # rate() needs two samples of a counter inside its window: a few scrapes after the traffic.
    wait_until(
        lambda: all(stack.prometheus.query(expr) for _, expr in targets),
        45,
        lambda: f"no series: {[expr for _, expr in targets if not stack.prometheus.query(expr)]}",
        step=0.5,
    )
    out = Path(os.environ.get("DASHBOARD_PNG") or tmp_path / "dashboard.png")
    # The span Prometheus holds samples for, read from its own timestamps (its clock, not this process's).
    scraped = [float(t) for t, _ in stack.prometheus.query('up{job="paeshift"}[1h]')[0]["values"]]
    dashboard_plot.plot(stack.prometheus, dashboard, out, start=min(scraped), end=max(scraped))
    assert out.read_bytes().startswith(b"\x89PNG")


def test_flower_lists_the_worker_and_the_tasks_it_ran(stack):
    workers = wait_until(lambda: _flower_or_none(stack, "/api/workers?refresh=1"), 30, "flower: no worker", step=0.5)
    # The Procfile names each worker process worker.<pid>@<host> (two workers on one host must differ).
    assert any(re.fullmatch(r"worker\.\d+@.+", name) for name in workers), list(workers)
    tasks = wait_until(
        lambda: {
            task["name"]
            for task in (_flower_or_none(stack, "/api/tasks") or {}).values()
            if task.get("state") == "SUCCESS"
        },
        30,
        "flower: no task events",
        step=0.5,
    )
    # The rebuilds the writes enqueued (one message per write), and beat's outage replay, as the worker's
    # task events report them.
    assert {"workers.cache.rebuild_hot_keys", "workers.cache.recover_cache"} <= tasks


def _flower_or_none(stack: ObservedStack, path: str):
    try:
        return stack.flower(path) or None
    except OSError:
        return None


def test_beat_heartbeat_is_recent_in_metrics_and_readyz_does_not_warn(stack):
    last = wait_until(lambda: stack.prometheus.query("paeshift_beat_last_run_timestamp_seconds"), 30, "no heartbeat")
    assert time.time() - float(last[0]["value"][1]) < 15  # recover-cache is sent every 3 s
    assert "warnings" not in stack.api.expect(200, "GET", "/readyz")


def test_sentry_receives_a_view_error_a_failed_rebuild_and_beat_check_ins(stack):
    # given: a real fault under the running stack, the reviews table gone (a botched migration)
    user_id = stack.users["worker"]
    cache = redis.Redis.from_url(stack.env["REDIS_URL"])
    with psycopg.connect(stack.database_url, autocommit=True) as connection:
        connection.execute("ALTER TABLE ratings_review RENAME TO ratings_review_away")
        try:
            # when: a read of a cold key builds in the web process, and a worker rebuilds the same key
            cache.delete(payload_key("reviews:user", user_id))
            failed = stack.api.call("GET", f"/api/v1/users/{user_id}/reviews/")
            app = Celery(broker=stack.env["CELERY_BROKER_URL"])
            app.send_task("workers.cache.rebuild_hot_key", args=["reviews:user", user_id], queue="cache")

            # then: both arrive at Sentry as events
            def arrived():
                events = stack.sentry.events()
                view = [e for e in events if f"/users/{user_id}/reviews/" in e.get("request", {}).get("url", "")]
                task = [
                    e
                    for e in events
                    if e.get("extra", {}).get("celery-job", {}).get("task_name") == "workers.cache.rebuild_hot_key"
                ]
                return (view, task) if view and task else None

            view_events, task_events = wait_until(arrived, 30, lambda: f"events: {_summary(stack.sentry.events())}")
        finally:
            connection.execute("ALTER TABLE ratings_review_away RENAME TO ratings_review")
    cache.close()
    assert failed.status == 500
    assert failed.json()["type"] == "server_error"
    for event in (*view_events, *task_events):
        assert event["environment"] == "e2e"
        assert any(v["type"] in ("UndefinedTable", "ProgrammingError") for v in event["exception"]["values"])

    # and beat's schedule is reported as cron monitors: the worker checks in around the monitored task
    def checked_in():
        statuses = {c["status"] for c in stack.sentry.check_ins() if c["monitor_slug"] == "collect-silk-garbage"}
        return statuses if {"in_progress", "ok"} <= statuses else None

    wait_until(checked_in, 90, lambda: f"check-ins: {stack.sentry.check_ins()}", step=0.5)
    monitor = next(c for c in stack.sentry.check_ins() if c["monitor_slug"] == "collect-silk-garbage")
    assert monitor["monitor_config"]["schedule"] == {"type": "interval", "value": 1, "unit": "minute"}


def _summary(events: list[dict]) -> list[str]:
    return [re.sub(r"\s+", " ", json.dumps(e.get("exception", {}))[:200]) for e in events]
