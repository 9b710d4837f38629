"""/metrics (backend/ops/metrics.py), request metrics (backend/ops/request_metrics.py) and beat's heartbeat.

Against real services: a private redis-server as the cache (``own_redis``, so its command counts are
this test's alone), the broker of the run's Redis, and RabbitMQ on 127.0.0.1:5672 where it runs.
The whole path with Prometheus, Flower and Sentry: tests/ops/test_observability.py.
"""

import os
import secrets
import time

import kombu
import pytest
import redis
from celery.signals import beat_init, before_task_publish
from django.test import override_settings
from prometheus_client.parser import text_string_to_metric_families

from backend.caching.breaker import breaker_for
from backend.caching.store import get_store
from backend.common.redis_client import fail_fast_options
from backend.ops import beat_heartbeat, metrics, ops_store

TOKEN = "a-scrape-token-for-tests-only"
RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672//"


def _scrape(client, token: str | None = TOKEN):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return client.get("/metrics", **headers)


def _families(response) -> dict:
    return {family.name: family for family in text_string_to_metric_families(response.content.decode())}


def _command_calls(server_url: str) -> dict[str, int]:
    # RESP2 as the app's clients (backend/common/redis_client.py): a RESP3 client's HELLO would count.
    stats = redis.Redis.from_url(server_url, **fail_fast_options()).info("commandstats")
    return {name.removeprefix("cmdstat_"): row["calls"] for name, row in stats.items()}


# --- the endpoint -----------------------------------------------------------------------------


@override_settings(METRICS_TOKEN="")
def test_metrics_is_off_without_a_configured_token(api_client):
    response = _scrape(api_client)

    assert response.status_code == 404
    assert response.json() == {
        "type": "client_error",
        "errors": [{"code": "not_found", "detail": "Not found.", "attr": None}],
    }


@override_settings(METRICS_TOKEN=TOKEN)
@pytest.mark.parametrize(
    ("authorization", "code"),
    [(None, "not_authenticated"), ("Bearer wrong", "authentication_failed"), (f"Token {TOKEN}", "not_authenticated")],
)
def test_metrics_refuses_a_missing_or_wrong_bearer_token(api_client, authorization, code):
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}

    response = api_client.get("/metrics", **headers)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert response.json()["errors"][0]["code"] == code


@pytest.mark.redis
@pytest.mark.django_db
@override_settings(METRICS_TOKEN=TOKEN)
def test_metrics_exposes_the_shared_counters_in_prometheus_format(api_client, own_redis):
    api_client.get("/healthz")
    api_client.get("/no-such-path")

    response = _scrape(api_client)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    families = _families(response)
    for name in ("paeshift_cache_hits", "paeshift_cache_rebuild_failures", "paeshift_http_request_duration_seconds"):
        assert families[name].samples, name
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for s in families["paeshift_http_request_duration_seconds"].samples
    }
    assert (
        samples[
            (
                "paeshift_http_request_duration_seconds_count",
                (("method", "GET"), ("route", "healthz"), ("status", "200")),
            )
        ]
        == 1
    )
    assert (
        samples[
            (
                "paeshift_http_request_duration_seconds_count",
                (("method", "GET"), ("route", "unmatched"), ("status", "404")),
            )
        ]
        == 1
    )
    assert families["paeshift_cache_redis_up"].samples[0].value == 1
    assert families["paeshift_cache_outage_records"].samples[0].value == 0


@pytest.mark.redis
@pytest.mark.django_db
@override_settings(METRICS_TOKEN=TOKEN)
def test_metrics_answers_while_redis_is_down(api_client, own_redis):
    own_redis.stop()

    response = _scrape(api_client)

    assert response.status_code == 200
    families = _families(response)
    assert families["paeshift_cache_redis_up"].samples[0].value == 0
    assert families["paeshift_cache_breaker_open"].samples[0].value == 1


# --- request metrics ----------------------------------------------------------------------------


def _changed(server_url: str, before: dict[str, int]) -> dict[str, int]:
    after = _command_calls(server_url)
    changed = {name: after[name] - before.get(name, 0) for name in after if after[name] != before.get(name, 0)}
    changed.pop("info", None)  # this test's own INFO
    return changed


def _http_counts(server_url: str) -> dict[str, int]:
    raw = redis.Redis.from_url(server_url).hgetall(ops_store.HTTP_KEY)
    return {field.decode(): int(value) for field, value in raw.items()}


@pytest.mark.redis
@override_settings(METRICS_FLUSH_INTERVAL=60.0)
def test_a_request_sends_nothing_of_its_own_its_counts_ride_the_next_round_trip(api_client, own_redis):
    api_client.get("/healthz")  # a new pooled connection's first use adds redis-py's health-check PING
    get_store().flush_counters()
    before = _command_calls(own_redis.url)

    # when a request is served while its counts are not yet due
    assert api_client.get("/healthz").status_code == 200

    # then it sent nothing to Redis (a hot hit stays at its own round trips)
    assert _changed(own_redis.url, before) == {}
    # and the next round trip the process makes carries them, in the same pipeline
    get_store().read("profile:user", 1, record_access=False)
    assert _changed(own_redis.url, before) == {"mget": 1, "hincrby": 2}  # its bucket and its sum
    assert sum(n for field, n in _http_counts(own_redis.url).items() if field.startswith("healthz|GET|200|")) > 0


@pytest.mark.redis
@override_settings(METRICS_FLUSH_INTERVAL=0.0)
def test_counts_older_than_the_flush_interval_are_sent_after_the_response(api_client, own_redis):
    api_client.get("/healthz")
    before = _command_calls(own_redis.url)

    assert api_client.get("/healthz").status_code == 200

    assert _changed(own_redis.url, before) == {"hincrby": 2}


@pytest.mark.redis
@override_settings(METRICS_FLUSH_INTERVAL=0.0)
def test_no_request_metric_is_sent_while_the_breaker_is_open_and_none_is_lost(api_client, own_redis):
    breaker = breaker_for("redis")
    breaker.record_failure(ConnectionError("test"))
    before = _command_calls(own_redis.url).get("hincrby", 0)

    assert api_client.get("/healthz").status_code == 200

    assert _command_calls(own_redis.url).get("hincrby", 0) == before
    # once Redis is trusted again the counts kept meanwhile go out
    breaker.reset()
    assert api_client.get("/healthz").status_code == 200
    assert _http_counts(own_redis.url)["healthz|GET|200|sum_us"] > 0
    assert sum(n for field, n in _http_counts(own_redis.url).items() if field.startswith("healthz|GET|200|0")) == 2


# --- queue depths -------------------------------------------------------------------------------


def _publish(broker_url: str, queue: str, count: int) -> None:
    with kombu.Connection(broker_url, connect_timeout=2) as connection:
        producer = connection.Producer()
        target = kombu.Queue(queue, kombu.Exchange(queue), routing_key=queue)
        for n in range(count):
            producer.publish({"n": n}, exchange=target.exchange, routing_key=queue, declare=[target])


@pytest.mark.redis
def test_queue_depths_on_a_redis_broker_are_the_lengths_of_its_lists(own_redis):
    queue = f"test-depth-{secrets.token_hex(4)}"
    _publish(own_redis.url, queue, 3)

    depths = metrics.queue_depths(own_redis.url, [queue, f"{queue}-empty"])

    assert depths == {queue: 3, f"{queue}-empty": 0}


def test_queue_depths_on_rabbitmq_come_from_a_passive_declare():
    queue = f"test-depth-{secrets.token_hex(4)}"
    try:
        _publish(RABBITMQ_URL, queue, 2)
    except OSError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"RabbitMQ does not answer on 127.0.0.1:5672 (.ci/run starts it): {exc}")
        pytest.skip(f"RabbitMQ does not answer on 127.0.0.1:5672: {exc}")
    try:
        depths = metrics.queue_depths(RABBITMQ_URL, [queue, f"{queue}-missing"])
    finally:
        with kombu.Connection(RABBITMQ_URL) as connection:
            connection.default_channel.queue_delete(queue)

    assert depths == {queue: 2, f"{queue}-missing": 0}


def test_queue_depths_are_none_when_the_broker_does_not_answer():
    assert metrics.queue_depths("redis://127.0.0.1:1/0", ["default"], timeout=0.2) is None


def test_the_queues_are_the_default_one_and_those_the_routes_name():
    assert metrics.configured_queues() == ["cache", "default"]


# --- beat's heartbeat ---------------------------------------------------------------------------


@pytest.fixture
def heartbeat_in_this_process():
    """This process acts as beat: ``beat_init`` connects the heartbeat, disconnected afterwards."""
    ops_store.local.clear()
    beat_init.send(sender=None)
    try:
        yield
    finally:
        before_task_publish.disconnect(dispatch_uid="backend.ops.beat_heartbeat")
        ops_store.local.clear()


@pytest.mark.redis
@pytest.mark.django_db
def test_readyz_warns_while_beat_has_not_sent_a_task_recently(api_client, heartbeat_in_this_process):
    with override_settings(CELERY_TASK_ALWAYS_EAGER=False, BEAT_HEARTBEAT_MAX_AGE=60):
        beat_heartbeat.record_publish(at=time.time() - 61)
        stale = api_client.get("/readyz")
        before_task_publish.send(sender="workers.cache.recover_cache", body=None, headers={})
        fresh = api_client.get("/readyz")

    assert stale.status_code == 200  # a warning, never unready: web must not leave the load balancer
    assert beat_heartbeat.STALE in stale.json()["warnings"]
    assert beat_heartbeat.STALE not in fresh.json().get("warnings", [])
    assert time.time() - beat_heartbeat.last_publish() < 5


@pytest.mark.redis
@pytest.mark.django_db
@pytest.mark.parametrize(("max_age", "warned"), [(1e9, False), (1e-9, True)])
def test_without_any_heartbeat_beat_gets_max_age_from_the_process_start(api_client, max_age, warned):
    ops_store.local.clear()
    with override_settings(CELERY_TASK_ALWAYS_EAGER=False, BEAT_HEARTBEAT_MAX_AGE=max_age):
        response = api_client.get("/readyz")

    assert (beat_heartbeat.STALE in response.json().get("warnings", [])) is warned


def test_the_heartbeat_is_written_only_where_beat_started():
    ops_store.local.clear()

    before_task_publish.send(sender="workers.cache.recover_cache", body=None, headers={})

    assert beat_heartbeat.last_publish() is None


@pytest.mark.django_db
def test_an_unreachable_redis_cluster_never_breaks_a_request_or_its_teardown(api_client):
    # Building a RedisCluster client connects; the request metrics' teardown asked for one outside the
    # guard on every request, so each response ended in a RedisClusterException traceback.
    from config.settings.base import redis_cache

    breaker_for("redis").reset()
    try:
        with override_settings(CACHES={"default": redis_cache("redis://127.0.0.1:1", cluster=True)}):
            responses = [api_client.get(path) for path in ("/healthz", "/api/v1/jobs/", "/healthz")]
    finally:
        breaker_for("redis").reset()
    assert [r.status_code for r in responses] == [200, 200, 200]
