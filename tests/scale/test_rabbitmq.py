"""RabbitMQ as the Celery broker (issue 16, part 3): the Redis broker's task guarantees, on amqp://.

The Procfile's processes run with production settings against a virtual host of their own on the
machine's RabbitMQ (tests/scale/brokers.py), a copy of the reliability tests' seeded database and a
private redis-server for the cache.

1. A normal run: writes through the API are rebuilt by the worker (the rebuild lands after the write
   and the next read is a hit with the written value), ``/readyz`` has no broker warning, ``/metrics``
   reads the queue depths from RabbitMQ, and the queues are durable (a broker restart keeps them).
2. A worker killed mid-rebuild (a rebuild made slow for real by a lock the test holds, as in
   tests/reliability/test_worker_killed.py): its pool process (``reject_on_worker_lost``: requeued
   and run by the replacement process), then the whole worker with a second one running (RabbitMQ
   requeues an unacknowledged message the moment its consumer's connection closes, so the other worker
   runs it at once; the Redis broker waits out its visibility timeout). Each time the key is stored
   once, by the run that finished, with what the database says.
"""

import json
import os
import re
import signal
import subprocess
import time
from urllib.parse import urlsplit

import psycopg
import pytest

from bench.stack import children, cmdline, proc_stat
from tests.reliability import conftest as reliability
from tests.reliability.processes import ProcfileProcess
from tests.reliability.test_redis_outage import servable_on
from tests.reliability.test_worker_killed import EVERY_KEY, Lock, rebuilt_messages, stored_profile, waiting_backends
from tests.scale.brokers import rabbitmq_vhost
from tests.stack import wait_until

pytestmark = [pytest.mark.scale, pytest.mark.postgres, pytest.mark.redis]

# The reliability tests' fixtures (tests/reliability/conftest.py): a copy of their seeded database, private
# redis-servers, the Procfile's processes under honcho.
rel_server_url = reliability.rel_server_url
rel_template = reliability.rel_template
database_url = reliability.database_url
seed = reliability.seed
redis_servers = reliability.redis_servers
launch = reliability.launch

METRICS_TOKEN = "scale-test-metrics-token"
WARM_TIMEOUT = 15.0


@pytest.fixture
def amqp_url():
    yield from rabbitmq_vhost()


def _vhost(url: str) -> str:
    return url.rsplit("/", 1)[1]


def _queues(url: str) -> dict[str, dict[str, str]]:
    """``rabbitmqctl list_queues`` for the test's virtual host: {queue: {column: value}}."""
    columns = ["name", "durable", "arguments", "messages"]
    result = subprocess.run(
        ["rabbitmqctl", "list_queues", "-q", "--no-table-headers", "-p", _vhost(url), *columns],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    rows = [line.split("\t") for line in result.stdout.splitlines() if line.strip()]
    return {row[0]: dict(zip(columns, row, strict=False)) for row in rows}


def test_a_stack_on_rabbitmq_rebuilds_what_is_written(database_url, seed, redis_servers, launch, amqp_url, capsys):
    cache = redis_servers()
    stack = launch(
        database_url,
        cache.url,
        "web",
        "worker",
        "beat",
        CELERY_BROKER_URL=amqp_url,
        METRICS_TOKEN=METRICS_TOKEN,
    )
    api = stack.api
    users = seed.people[:4]
    # Read first, as users do: a write rebuilds only the keys someone reads (HOT_CACHE_REBUILD_MIN_POPULARITY).
    for user in users:
        api.expect(200, "GET", f"/api/v1/users/{user}/profile/")
        api.expect(200, "GET", "/api/v1/me/account-details/", token=seed.token(user))

    written: dict[tuple[str, int], tuple[float, str]] = {}
    for user in users:
        for namespace, path, field in (
            ("profile:user", "/api/v1/me/profile/", "headline"),
            ("account_details:user", "/api/v1/me/account-details/", "bank_name"),
        ):
            value = f"amqp-{field}-{user}"
            sent = time.monotonic()
            api.expect(200, "PATCH", path, token=seed.token(user), body={field: value})
            written[(namespace, user)] = (sent, value)
    last_commit = time.monotonic()

    pending = set(written)

    def warm() -> bool:
        pending.difference_update({key for key in pending if servable_on(cache, *key)})
        return not pending

    wait_until(warm, WARM_TIMEOUT, lambda: f"not warm: {sorted(pending)}\n{stack.honcho.tail(30)}", step=0.01)
    commit_to_warm = time.monotonic() - last_commit

    # The worker rebuilt each key after its write (nothing has read a hot endpoint since).
    rebuilt: dict[tuple[str, int], list[float]] = {}
    for at, message in stack.messages("worker.1", "workers.cache"):
        match = re.fullmatch(r"hot cache rebuilt (\S+):(\d+)", message)
        if match:
            rebuilt.setdefault((match[1], int(match[2])), []).append(at)
    for key, (sent, _) in written.items():
        assert any(at >= sent for at in rebuilt.get(key, [])), (key, sorted(rebuilt))

    for user in users:
        profile = api.call("GET", f"/api/v1/users/{user}/profile/")
        account = api.call("GET", "/api/v1/me/account-details/", token=seed.token(user))
        for reply, namespace, field in (
            (profile, "profile:user", "headline"),
            (account, "account_details:user", "bank_name"),
        ):
            assert reply.status == 200
            assert reply.timing.get("cache") == "hit", (namespace, user, reply.headers.get("server-timing"))
            assert reply.json()[field] == written[(namespace, user)][1]

    ready = api.expect(200, "GET", "/readyz")
    assert ready["checks"]["broker"] == "ok"
    assert "warnings" not in ready  # RabbitMQ never evicts (backend/ops/broker_placement.py)
    metrics = api.call("GET", "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert metrics.status == 200
    text = metrics.body.decode()
    assert re.search(r"^paeshift_celery_broker_up 1\.0$", text, re.M), text[:2000]
    depths = dict(re.findall(r'^paeshift_celery_queue_messages\{queue="(\w+)"\} (\S+)$', text, re.M))
    assert set(depths) == {"cache", "default"}, text[:2000]
    assert depths["cache"] == "0.0"  # drained by the worker

    queues = _queues(amqp_url)
    assert {"cache", "default"} <= set(queues), queues
    assert queues["cache"]["durable"] == queues["default"]["durable"] == "true", queues

    with capsys.disabled():
        print(f"\n[rabbitmq] {len(written)} keys written, commit-to-warm {commit_to_warm:.2f}s on amqp")


def _worker_main(processes: list[int]) -> int:
    """The Celery worker's main process among ``processes`` (the oldest celery worker process)."""
    workers = [pid for pid in processes if "celery" in cmdline(pid) and " worker " in cmdline(pid)]
    return min(workers, key=lambda pid: int(proc_stat(pid)[17]))


def _process_group(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children(current))
    return found


def test_a_killed_worker_s_rebuild_is_redelivered_and_done_once(
    database_url, redis_servers, launch, amqp_url, tmp_path
):
    cache = redis_servers()
    stack = launch(
        database_url, cache.url, "web", CELERY_BROKER_URL=amqp_url, HOT_CACHE_REBUILD_MIN_POPULARITY=EVERY_KEY
    )
    worker_env = {**stack.env, "CELERY_WORKER_CONCURRENCY": "1"}
    observer = psycopg.connect(database_url, autocommit=True, connect_timeout=5)
    first = ProcfileProcess("worker", worker_env, tmp_path / "worker1.log")
    second = None
    figures = {}
    try:
        first.wait_for(" ready.")

        # 1. The pool process dies (the OOM killer's choice): rejected, requeued, run by its replacement.
        lock = Lock(database_url)
        try:
            user_a, token_a = stack.api.register("pool-killed@scale.example", "Pool Killed")
            waiting = wait_until(lambda: waiting_backends(observer), 15, "the rebuild never waited on the lock")
            main = _worker_main(_process_group(first.process.pid))
            pool = children(main)
            assert len(pool) == 1, pool
            os.kill(pool[0], signal.SIGKILL)
            killed = time.monotonic()
            wait_until(lambda: waiting_backends(observer) - waiting, 15, "not redelivered after the pool process died")
            figures["pool_process_redelivered_after_s"] = round(time.monotonic() - killed, 2)
        finally:
            lock.release()
        wait_until(lambda: servable_on(cache, "account_details:user", user_a), 15, "not rebuilt after the lock")
        assert any("WorkerLostError" in line or "signal 9" in line for line in first.lines())

        # 2. The whole worker dies with a second one running: RabbitMQ requeues at once.
        second = ProcfileProcess("worker", worker_env, tmp_path / "worker2.log")
        second.wait_for(" ready.")
        lock = Lock(database_url)
        try:
            user_b, token_b = stack.api.register("worker-killed@scale.example", "Worker Killed")
            # Which worker took the message? Wait until one waits on the lock, then kill that one.
            waiting = wait_until(lambda: waiting_backends(observer), 15, "the rebuild never waited on the lock")
            holder = _holder(first, second, observer, waiting)
            survivor = second if holder is first else first
            holder.kill()
            killed = time.monotonic()
            wait_until(
                lambda: waiting_backends(observer) - waiting,
                15,
                lambda: "the other worker never got the message:\n" + "\n".join(survivor.lines()[-20:]),
            )
            figures["whole_worker_redelivered_after_s"] = round(time.monotonic() - killed, 2)
        finally:
            lock.release()
        wait_until(lambda: servable_on(cache, "account_details:user", user_b), 15, "not rebuilt after the lock")
        wait_until(lambda: _queues(amqp_url)["cache"]["messages"] == "0", 15, "the redelivered message stayed queued")
    finally:
        for worker in (first, second):
            if worker is not None:
                worker.stop()
        observer.close()

    # Done once in effect: one completed rebuild of each key, and it is what the database says.
    lines = first.lines() + second.lines()
    for user, token in ((user_a, token_a), (user_b, token_b)):
        assert len(rebuilt_messages(lines, user)) == 1, rebuilt_messages(lines, user)
        _, body = stored_profile(cache, user)
        fresh = stack.api.call("GET", f"/api/v1/users/{user}/account-details/", token=token)  # never hot-cached
        hot = stack.api.call("GET", "/api/v1/me/account-details/", token=token)
        assert json.loads(body) == json.loads(fresh.body)
        assert hot.timing.get("cache") == "hit"
        assert hot.body == body
    print(f"[rabbitmq] {figures}")
    # Requeued when the connection closed: well within the 5 s the Redis broker's test shortens its
    # visibility timeout to (production: 120 s).
    assert figures["whole_worker_redelivered_after_s"] < 5.0, figures


def _holder(first: ProcfileProcess, second: ProcfileProcess, observer, waiting: set[int]) -> ProcfileProcess:
    """The worker whose pool process runs the waiting rebuild: the one whose database connection it is."""
    ports = {
        port
        for (port,) in observer.execute(
            "SELECT client_port FROM pg_stat_activity WHERE pid = ANY(%s)", [list(waiting)]
        ).fetchall()
    }
    for worker in (first, second):
        pids = set(_process_group(worker.process.pid))
        if any(_socket_owner(port) in pids for port in ports):
            return worker
    raise AssertionError(f"no worker owns the waiting connection (ports {ports})")


def _socket_owner(port: int) -> int | None:
    """The pid whose TCP socket has local port ``port`` (from /proc/<pid>/fd and /proc/net/tcp)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as handle:
                rows = handle.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            for fd in os.listdir(f"/proc/{entry}/fd"):
                target = os.readlink(f"/proc/{entry}/fd/{fd}")
                if target.startswith("socket:[") and target[8:-1] in inodes:
                    return int(entry)
        except OSError:
            continue
    return None


def test_a_blackholed_rabbitmq_fails_a_publish_within_its_timeouts(amqp_url):
    """A broker that accepts and never answers (paused, partitioned) must not hold a write's commit hook.

    The settings' amqp options (config/settings/base.py) on a Celery app publishing through a TCP proxy
    that drops everything: with publisher confirms and no read timeout, the publish would wait for the
    confirm forever (seen while choosing the options: still waiting after 25 s).
    """
    from celery import Celery

    from config.settings import base
    from tests.scale.tcp_proxy import TcpProxy

    parts = urlsplit(amqp_url)
    proxy = TcpProxy(parts.hostname, parts.port or 5672).start()
    app = Celery(
        "blackhole", broker=f"{parts.scheme}://{parts.username}:{parts.password}@127.0.0.1:{proxy.port}{parts.path}"
    )
    app.conf.update(
        broker_transport_options=base.AMQP_BROKER_TRANSPORT_OPTIONS,
        broker_connection_timeout=base.CELERY_BROKER_CONNECTION_TIMEOUT,
        task_publish_retry_policy=base.CELERY_TASK_PUBLISH_RETRY_POLICY,
    )
    try:
        started = time.monotonic()
        app.send_task("workers.cache.decay_popularity", queue="cache")
        healthy = time.monotonic() - started
        proxy.blackhole()
        waits = []
        for _ in range(2):
            started = time.monotonic()
            with pytest.raises(Exception):  # noqa: B017, PT011 (kombu's OperationalError, socket.timeout)
                app.send_task("workers.cache.decay_popularity", queue="cache")
            waits.append(round(time.monotonic() - started, 2))
        proxy.blackhole(False)
        proxy.cut()  # the connections the blackhole left half-open
        proxy.restore()
        app.send_task("workers.cache.decay_popularity", queue="cache")  # reconnects by itself
    finally:
        app.close()
        proxy.close()
    print(f"[rabbitmq] healthy publish {healthy:.3f}s; blackholed publishes failed after {waits} s")
    # One confirm wait (1 s), then kombu's one reconnect attempt (connect + handshake: 1 s each) at most.
    assert max(waits) <= 3.5, waits
