"""A Celery worker killed with SIGKILL in the middle of a hot-cache rebuild.

To catch a rebuild in flight, the test makes it slow for real: it holds an ACCESS EXCLUSIVE lock on
``payments_payment`` (which the account-details builder reads, and nothing else in the scenario
does) and registers a user through the API. Registration invalidates the new user's keys and
enqueues their rebuilds; the account-details rebuild then waits on the lock, and pg_stat_activity
shows it waiting. The worker runs one pool process (CELERY_WORKER_CONCURRENCY=1), so the process
waiting is known.

- Pool process killed (the worker's main process survives, as when the kernel's OOM killer picks
  a child): the task is rejected on worker loss and redelivered at once to the replacement process
  (``acks_late`` + ``reject_on_worker_lost``), which builds the key once the lock is gone.
- Whole worker killed (main process and pool, as when a host or container dies): the message stays
  in the broker's ``unacked`` set; the next read builds the key; a worker started later puts the
  message back on the queue once it is older than the visibility timeout, and the rebuild it runs
  finds the key already rebuilt by that read and leaves it (idempotent: no second effect). The
  visibility timeout is shortened through CELERY_BROKER_VISIBILITY_TIMEOUT to keep the test short
  (production keeps 120 s; see docs/reliability.md).

Either way the stored payload equals what the database says (the uncached endpoint's body), and
the rebuild's only side effect, the stored payload, happens with the same bytes however often it runs.
"""

import json
import os
import signal
import time

import psycopg
import pytest
import redis

from backend.caching.payload import servable, stored
from bench.stack import children, cmdline, proc_stat
from tests.reliability.processes import ProcfileProcess
from tests.reliability.test_redis_outage import servable_on
from tests.stack import wait_until

pytestmark = [pytest.mark.reliability, pytest.mark.postgres, pytest.mark.redis]

NAMESPACE = "account_details:user"
VISIBILITY_TIMEOUT = 5  # seconds, for the whole-worker case only
# A new user's keys have never been read, so a write rebuilds none of them by default: rebuild every key.
EVERY_KEY = "0"


def waiting_backends(connection) -> set[int]:
    """Backends of the stack's database waiting for a lock on payments_payment."""
    rows = connection.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        " AND query ILIKE %s AND pid <> pg_backend_pid()",
        ["%payments_payment%"],
    ).fetchall()
    return {pid for (pid,) in rows}


def stored_profile(cache, user_id: int) -> tuple[bytes, bytes]:
    client = redis.Redis.from_url(cache.url, socket_timeout=2)
    try:
        payload, gen, epoch = stored(client, NAMESPACE, user_id)
    finally:
        client.close()
    assert servable(payload, gen, epoch)
    return payload.gen, payload.body


class Lock:
    """An ACCESS EXCLUSIVE lock on payments_payment, held by an open transaction of the test."""

    def __init__(self, database_url: str) -> None:
        self.connection = psycopg.connect(database_url, connect_timeout=5)
        self.connection.execute("LOCK TABLE payments_payment IN ACCESS EXCLUSIVE MODE")

    def release(self) -> None:
        self.connection.rollback()
        self.connection.close()


def redelivered_runs(lines: list[str], user_id: int) -> list[str]:
    """The log lines of completed runs of the rebuild task whose keys include the user's key: the
    redelivered message, whether it rebuilt the key or found it already rebuilt by a read."""
    key = f"['{NAMESPACE}', {user_id}]"
    return [line for line in lines if "workers.cache.rebuild_hot_keys[" in line and "succeeded" in line and key in line]


def rebuilt_messages(lines: list[str], user_id: int) -> list[str]:
    """The log messages (or raw JSON log lines) of completed rebuilds of the user's key."""
    message = f"hot cache rebuilt {NAMESPACE}:{user_id}"
    return [line for line in lines if line == message or f'"{message}"' in line]


def test_pool_process_killed_mid_rebuild_is_redelivered(database_url, redis_servers, launch, figures):
    cache, broker = redis_servers(), redis_servers()
    stack = launch(
        database_url,
        cache.url,
        "web",
        "worker",
        CELERY_BROKER_URL=broker.url,
        CELERY_WORKER_CONCURRENCY="1",
        HOT_CACHE_REBUILD_MIN_POPULARITY=EVERY_KEY,
    )
    observer = psycopg.connect(database_url, autocommit=True, connect_timeout=5)
    worker_main = min(
        (pid for pid in stack.honcho.descendants() if "celery" in cmdline(pid) and " worker " in cmdline(pid)),
        key=lambda pid: int(proc_stat(pid)[17]),
    )

    lock = Lock(database_url)
    try:
        user_id, token = stack.api.register("killed-child@reliability.example", "Killed Child")
        first = wait_until(lambda: waiting_backends(observer), 15, "the rebuild never waited on the lock")
        pool = children(worker_main)
        assert len(pool) == 1, pool
        os.kill(pool[0], signal.SIGKILL)
        killed = time.monotonic()
        # Redelivered to the replacement process, which waits on the lock in turn.
        wait_until(lambda: waiting_backends(observer) - first, 15, "the task was not redelivered")
        redelivered_after = time.monotonic() - killed
        replacement = children(worker_main)
        assert replacement
        assert replacement != pool
    finally:
        lock.release()
        observer.close()
    released = time.monotonic()
    wait_until(lambda: servable_on(cache, NAMESPACE, user_id), 15, lambda: f"not rebuilt:\n{stack.honcho.tail(30)}")
    warm_after_release = time.monotonic() - released

    gen, body = stored_profile(cache, user_id)
    fresh = stack.api.call("GET", f"/api/v1/users/{user_id}/account-details/", token=token)  # not hot-cached
    hot = stack.api.call("GET", "/api/v1/me/account-details/", token=token)
    worker_lines = [text for _, text in stack.messages("worker.1")]
    lost_lines = [m for m in worker_lines if "WorkerLostError" in m or "signal 9" in m]
    rebuilt = rebuilt_messages(worker_lines, user_id)

    figures.update(
        fault="worker pool process SIGKILLed while a rebuild waits on the database",
        kind="fault",
        operations=4,
        failed=0,
        stale_reads=0 if json.loads(hot.body) == json.loads(fresh.body) else 1,
        lost_writes=0,
        redelivered_after_s=round(redelivered_after, 2),
        warm_after_lock_released_s=round(warm_after_release, 2),
        completed_rebuilds_of_the_key=len(rebuilt),
        worker_lost_logged=len(lost_lines),
    )
    assert json.loads(body) == json.loads(fresh.body)
    assert hot.status == 200
    assert hot.timing.get("cache") == "hit"
    assert hot.body == body
    assert lost_lines, "the worker did not report the lost process"
    assert len(rebuilt) == 1, rebuilt  # the killed run stored nothing; the redelivered one stored once
    assert stored_profile(cache, user_id) == (gen, body)


def test_whole_worker_killed_mid_rebuild_loses_nothing(database_url, redis_servers, launch, figures, tmp_path):
    cache, broker = redis_servers(), redis_servers()
    stack = launch(
        database_url, cache.url, "web", CELERY_BROKER_URL=broker.url, HOT_CACHE_REBUILD_MIN_POPULARITY=EVERY_KEY
    )
    worker_env = {
        **stack.env,
        "CELERY_WORKER_CONCURRENCY": "1",
        "CELERY_BROKER_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
    }
    broker_client = redis.Redis.from_url(broker.url, socket_timeout=2)
    observer = psycopg.connect(database_url, autocommit=True, connect_timeout=5)
    first_worker = ProcfileProcess("worker", worker_env, tmp_path / "worker1.log")
    second_worker = None
    try:
        first_worker.wait_for(" ready.")
        lock = Lock(database_url)
        try:
            user_id, token = stack.api.register("killed-worker@reliability.example", "Killed Worker")
            wait_until(lambda: waiting_backends(observer), 15, "the rebuild never waited on the lock")
            delivered = time.monotonic()
            first_worker.kill()
        finally:
            lock.release()
        # Not lost: the broker still holds the message, delivered and never acknowledged.
        unacked_after_kill = broker_client.hlen("unacked")
        assert unacked_after_kill >= 1

        # The next read builds the key: correct at once, whatever happens to the message.
        read = stack.api.call("GET", "/api/v1/me/account-details/", token=token)
        fresh = stack.api.call("GET", f"/api/v1/users/{user_id}/account-details/", token=token)
        assert read.status == 200
        assert read.timing.get("cache") == "miss"
        assert json.loads(read.body) == json.loads(fresh.body)
        built_by_read = stored_profile(cache, user_id)

        # A worker started once the message is older than the visibility timeout redelivers it.
        time.sleep(max(0.0, delivered + VISIBILITY_TIMEOUT + 0.5 - time.monotonic()))
        second_worker = ProcfileProcess("worker", worker_env, tmp_path / "worker2.log")
        second_worker.wait_for(" ready.")
        wait_until(
            lambda: redelivered_runs(second_worker.lines(), user_id),
            20,
            lambda: "the message was not redelivered:\n" + "\n".join(second_worker.lines()[-20:]),
        )
        redelivered_after = time.monotonic() - delivered
        wait_until(lambda: broker_client.hlen("unacked") == 0, 10, "the redelivered message was not acknowledged")
        after_redelivery = stored_profile(cache, user_id)
    finally:
        for worker in (first_worker, second_worker):
            if worker is not None:
                worker.stop()
        broker_client.close()
        observer.close()

    figures.update(
        fault="whole worker (main process and pool) SIGKILLed while a rebuild waits on the database",
        kind="fault",
        operations=3,
        failed=0,
        stale_reads=0,
        lost_writes=0,
        unacked_after_kill=unacked_after_kill,
        redelivered_after_s=round(redelivered_after, 2),
        visibility_timeout_s=VISIBILITY_TIMEOUT,
        rebuilds_by_the_second_worker=len(rebuilt_messages(second_worker.lines(), user_id)),
        same_payload_after_redelivery=after_redelivery == built_by_read,
    )
    assert after_redelivery == built_by_read  # same generation, same bytes: no second effect
