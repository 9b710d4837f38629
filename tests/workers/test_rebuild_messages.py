"""What a write puts on the real broker: one message per transaction, carrying the keys someone reads.

No worker runs here: the messages stay on the ``cache`` queue (the broker is the Redis db after
REDIS_URL's, private to this suite), and each test reads them back as the worker would receive them.
"""

import base64
import json
import os
import time

import pytest
import redis
from django.conf import settings
from django.test import override_settings

from backend.caching import invalidation
from config.celery_app import app
from tests.factories import make_completed_job, make_user

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]

WINDOW = 0.2  # the coalescing window: short, so each test's writes start after their users' creation window


@pytest.fixture
def queued():
    """``queued()``: the messages on the ``cache`` queue as ``(task name, args, has an eta)``, oldest first."""
    if not os.environ.get("REDIS_URL"):
        pytest.skip("needs REDIS_URL: a real broker")
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)

    def purge():
        for key in broker.scan_iter(match="cache*"):
            if broker.type(key) == b"list":
                broker.delete(key)

    def read():
        messages = [json.loads(raw) for raw in reversed(broker.lrange("cache", 0, -1))]  # LPUSHed: newest first
        found = []
        for message in messages:
            args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
            found.append((message["headers"]["task"], args, message["headers"].get("eta") is not None))
        return found

    app.conf.task_always_eager = False
    purge()
    try:
        with override_settings(HOT_CACHE_COALESCE_WINDOW=WINDOW):
            yield read
    finally:
        app.conf.task_always_eager = True
        purge()


def _after_the_window():
    time.sleep(WINDOW + 0.1)


def test_a_write_is_one_message_with_every_popular_key_it_touched(queued, client_for):
    client, worker = make_user(), make_user()
    job = make_completed_job(client=client, workers=[worker])
    reader = client_for(worker)
    for path in (f"/api/v1/users/{worker.id}/payments/", "/api/v1/me/account-details/"):
        reader.get(path)
    client_for(client).get(f"/api/v1/users/{client.id}/payments/")
    _after_the_window()
    before = queued()

    response = client_for(client).post(
        f"/api/v1/jobs/{job.id}/payments/", {"payee": worker.id, "amount": "40.00"}, HTTP_IDEMPOTENCY_KEY="pay-1"
    )

    assert response.status_code == 201, response.content
    new = queued()[len(before) :]
    # Four keys are read (the payer's payments; the payee's payments and account details); the payer's
    # account details, never read, are only invalidated.
    assert new == [
        (
            invalidation.REBUILD_KEYS_TASK,
            [[["account_details:user", worker.id], ["payments:user", client.id], ["payments:user", worker.id]]],
            False,
        )
    ]


def test_a_write_to_keys_nobody_reads_publishes_nothing_and_the_next_read_sees_it(queued, client_for):
    user = make_user()
    _after_the_window()

    response = client_for(user).patch("/api/v1/me/profile/", {"headline": "Night shifts"})

    assert response.status_code == 200
    assert queued() == []
    fresh = client_for(None).get(f"/api/v1/users/{user.id}/profile/")
    assert (fresh.hot_cache_outcome, fresh.json()["headline"]) == ("miss", "Night shifts")


def test_a_burst_in_one_window_is_one_leading_message_then_one_trailing(queued, client_for):
    user = make_user()
    owner = client_for(user)
    owner.get(f"/api/v1/users/{user.id}/profile/")
    _after_the_window()

    for headline in ("One", "Two", "Three"):
        assert owner.patch("/api/v1/me/profile/", {"headline": headline}).status_code == 200

    key = [["profile:user", user.id]]
    assert queued() == [(invalidation.REBUILD_KEYS_TASK, [key], False), (invalidation.REBUILD_KEYS_TASK, [key], True)]
