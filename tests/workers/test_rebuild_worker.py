"""The event-driven path with a real Celery worker on the real broker.

A write commits in this thread; the worker (its own thread, its own database connection)
consumes the rebuild from the ``cache`` queue and stores the payload; the next read is a hit
with the fresh data and runs no SQL.
"""

import os
import threading
import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings

from backend.caching import stats
from backend.caching.payload import servable
from backend.caching.store import get_store
from config.celery_app import app
from tests.factories import make_user

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def real_worker():
    if not os.environ.get("REDIS_URL"):
        pytest.skip("needs REDIS_URL: a real broker for a real worker")
    app.conf.task_always_eager = False
    try:
        with start_worker(app, queues=["cache", "default"], perform_ping_check=False, shutdown_timeout=10):
            yield
    finally:
        app.conf.task_always_eager = True


def wait_for_payload(namespace: str, key_id: int, timeout: float = 10.0):
    store = get_store()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = store.read(namespace, key_id, record_access=False)
        if servable(result.payload, result.gen, result.epoch):
            return result.payload
        time.sleep(0.01)
    raise AssertionError(f"{namespace}:{key_id} was not rebuilt within {timeout}s")


def test_worker_rebuilds_after_a_write_and_the_next_read_is_a_fresh_hit(
    real_worker, client_for, django_assert_num_queries
):
    user = make_user()
    client = client_for(user)
    client.get(f"/api/v1/users/{user.id}/profile/")  # warms token (cachalot) and profile
    # Let the coalescing window of the user's creation close, so this write gets a leading
    # (immediate) rebuild, as an isolated write does.
    time.sleep(settings.HOT_CACHE_COALESCE_WINDOW + 0.1)
    stats.reset()

    response = client.patch("/api/v1/me/profile/", {"headline": "Night-shift forklift driver"})
    assert response.status_code == 200

    payload = wait_for_payload("profile:user", user.id)
    with django_assert_num_queries(0):
        warm = client.get(f"/api/v1/users/{user.id}/profile/")

    assert warm.hot_cache_outcome == "hit"
    assert warm.json()["headline"] == "Night-shift forklift driver"
    assert warm.content == payload.body
    figures = stats.collect()["namespaces"]["profile:user"]
    assert figures["rebuilds"] >= 1
    assert figures["warm_latency_ms_p50"] is not None
    print(f"commit-to-warm latency with a real worker: p50={figures['warm_latency_ms_p50']} ms")


probe_results: list[dict] = []


@app.task(name="tests.workers.probe_cachalot")
def probe_cachalot(token_key: str) -> None:
    """Runs in the worker's thread: its cachalot state, and what two identical token reads cost."""
    from rest_framework.authtoken.models import Token

    from backend.common.orm_cache import cachalot_state
    from backend.observability.meter import measure

    figures = []
    for _ in range(2):
        with measure() as meter:
            Token.objects.select_related("user").get(key=token_key)
        figures.append((meter.db_queries, meter.cachalot_hits))
    probe_results.append({"thread": threading.get_ident(), "state": cachalot_state(), "reads": figures})


def test_a_rebuild_that_raises_in_the_worker_leaves_cachalot_on_in_its_thread(real_worker, monkeypatch):
    from rest_framework.authtoken.models import Token

    from tests.caching.test_thread_state import make_profile_builds_raise
    from workers.cache import rebuild_hot_key

    user = make_user()
    token = Token.objects.create(user=user)
    builder_threads: list[int] = []
    make_profile_builds_raise(monkeypatch, builder_threads)
    probe_results.clear()

    # when the worker's rebuild task raises inside the build (then the probe runs, in order: prefetch 1)
    rebuild_hot_key.apply_async(("profile:user", user.id))
    probe_cachalot.apply_async((token.key,), queue="cache")  # behind the rebuild, on its queue
    deadline = time.monotonic() + 10
    while not probe_results and time.monotonic() < deadline:
        time.sleep(0.01)

    # then the same worker thread still reads through cachalot: a miss (1 query), then a hit (0)
    assert probe_results, "the probe task did not run within 10 s"
    (probe,) = probe_results
    assert set(builder_threads) == {probe["thread"]}
    assert probe["reads"] == [(1, 0), (0, 1)]
    assert probe["state"]["enabled"] is True
