"""PostgreSQL restarted under steady reads and writes.

A private PostgreSQL server (tests/reliability/postgres_server.py) holds a copy of the seeded
database; the Procfile's web, worker and beat run against it under honcho, the cache and the
broker on private redis-servers. The server is stopped (``pg_ctl stop -m fast``: open transactions
rolled back, every connection closed, as in a restart or a failover) and started again a few
seconds later.

Expected: while it is down, a request that needs the database gets 503 with the API's one error
shape (``service_unavailable``, ``Retry-After``), never a 500 and never a dropped connection, on DRF
endpoints and outside DRF (the admin) alike; hot-cache hits still answer 200, fresh. Once it is
back, the same processes (no restart: same pids) serve every request again within a few seconds,
the worker rebuilds keys again, and no acknowledged write is lost.
"""

import json
import subprocess
import time

import psycopg
import pytest

from tests.reliability.load import Load, Phase, final_agreement, summarize
from tests.reliability.postgres_server import PostgresServer
from tests.reliability.test_redis_outage import servable_on
from tests.stack import wait_until

pytestmark = [pytest.mark.reliability, pytest.mark.postgres, pytest.mark.redis]

BEFORE, OUTAGE, AFTER = 3.0, 5.0, 6.0
RECOVERY_LIMIT = 5.0  # seconds from the server accepting connections to every request answering 200
UNAVAILABLE = {"code": "service_unavailable", "detail": "The service is temporarily unavailable; retry shortly."}


def copy_database(source_url: str, target: PostgresServer, name: str) -> str:
    with psycopg.connect(target.url(), autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    dump = subprocess.run(
        ["pg_dump", "--no-owner", "--no-privileges", "-d", source_url],
        capture_output=True,
        check=True,
        timeout=60,
    )
    subprocess.run(
        ["psql", "-q", "-v", "ON_ERROR_STOP=1", "-d", target.url(name)],
        input=dump.stdout,
        capture_output=True,
        check=True,
        timeout=60,
    )
    return target.url(name)


@pytest.fixture
def private_postgres():
    server = PostgresServer()
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.close()


def is_unavailable_error(status: int, body: str, headers_ok: bool = True) -> bool:
    """A 503 in the API's one error shape, code ``service_unavailable``."""
    try:
        data = json.loads(body)
    except ValueError:
        return False
    return (
        status == 503
        and data.get("type") == "server_error"
        and len(data.get("errors", [])) == 1
        and {k: data["errors"][0].get(k) for k in UNAVAILABLE} == UNAVAILABLE
        and headers_ok
    )


def test_postgres_restart_answers_503_and_recovers_without_restarting_processes(
    database_url, private_postgres, seed, redis_servers, launch, figures
):
    cache, broker = redis_servers(), redis_servers()
    stack_database = copy_database(database_url, private_postgres, "paeshift")
    stack = launch(stack_database, cache.url, "web", "worker", "beat", CELERY_BROKER_URL=broker.url)
    api = stack.api
    processes_before = stack.honcho.descendants()
    load = Load(api, {u: seed.token(u) for u in seed.people}, seed.people, writers=2, readers=3)

    started = time.monotonic()
    load.start()
    time.sleep(BEFORE)
    down = time.monotonic()
    private_postgres.stop("fast")
    stopped = time.monotonic()
    # Outside DRF: the admin reads the session (a database query) before anything else.
    outside_drf, readiness = [], []
    while time.monotonic() - stopped < OUTAGE:
        reply = api.call("GET", "/admin/", headers={"Cookie": "sessionid=0123456789abcdefghijklmnopqrstuv"})
        outside_drf.append((reply.status, reply.body.decode(errors="replace"), reply.headers.get("retry-after")))
        readiness.append(api.call("GET", "/readyz").status)
        time.sleep(0.25)
    private_postgres.start()
    back = time.monotonic()
    time.sleep(AFTER)
    load.stop()
    ended = time.monotonic()

    agreement = final_agreement(api, stack_database, load)
    phases = summarize(
        load,
        [Phase("before", started, down), Phase("outage", down, back), Phase("after", back, ended)],
        reference=back,
    )
    outage_ops = [op for op in load.ops if down <= op.sent < back]
    after_ops = sorted((op for op in load.ops if op.sent >= back), key=lambda op: op.sent)
    last_failure = max((op.sent for op in after_ops if op.status != 200), default=None)
    recovered_after = 0.0 if last_failure is None else last_failure - back
    not_503_shape = [
        (op.path, op.status, op.error[:120])
        for op in load.ops
        if op.status != 200 and not is_unavailable_error(op.status, op.error)
    ]

    # The worker's own database connection recovered: a write is rebuilt without any read after it (the read
    # before it makes the key one the worker rebuilds: HOT_CACHE_REBUILD_MIN_POPULARITY).
    user = seed.people[0]
    api.call("GET", f"/api/v1/users/{user}/profile/")
    api.expect(200, "PATCH", "/api/v1/me/profile/", token=seed.token(user), body={"headline": "after-restart"})
    wait_until(lambda: servable_on(cache, "profile:user", user), 15, "the worker did not rebuild after the restart")
    assert api.call("GET", f"/api/v1/users/{user}/profile/").json()["headline"] == "after-restart"
    processes_after = stack.honcho.descendants()

    figures.update(
        fault=f"PostgreSQL stopped (fast) for {OUTAGE:.0f} s, then started",
        kind="fault",
        phases=phases,
        operations=sum(p["operations"] for p in phases.values()) + len(outside_drf) * 2,
        failed=sum(p["failed"] for p in phases.values()),
        server_errors=sum(1 for op in load.ops if op.status == 0 or (op.status >= 500 and op.status != 503))
        + sum(1 for s, _, _ in outside_drf if s >= 500 and s != 503),
        no_answer=sum(1 for op in load.ops if op.status == 0),
        answered_503=sum(1 for op in load.ops if op.status == 503),
        outage_reads_served_200=sum(1 for op in outage_ops if op.kind == "read" and op.status == 200),
        outage_writes_served_200=sum(1 for op in outage_ops if op.kind == "write" and op.status == 200),
        stale_reads=sum(p["stale_reads"] for p in phases.values()),
        lost_writes=len(agreement["lost_writes"]),
        longest_staleness_s=max(p["max_staleness_s"] for p in phases.values()),
        recovered_after_s=round(recovered_after, 2),
        admin_during_outage=sorted({s for s, _, _ in outside_drf}),
        readyz_during_outage=sorted(set(readiness)),
        processes_restarted=len(set(processes_before.items()) ^ set(processes_after.items())),
        final_agreement=agreement,
    )

    assert not_503_shape == [], not_503_shape[:5]
    assert phases["outage"]["statuses"].get("503", 0) > 0, phases["outage"]["statuses"]
    assert outside_drf
    assert all(is_unavailable_error(status, body, retry_after == "1") for status, body, retry_after in outside_drf), (
        outside_drf[:3]
    )
    assert set(readiness) == {503}
    assert recovered_after <= RECOVERY_LIMIT, phases["after"]["failures"]
    assert sum(p["stale_reads"] for p in phases.values()) == 0
    assert agreement["lost_writes"] == [], agreement
    assert agreement["disagreements"] == [], agreement
    assert processes_after == processes_before, "a process was restarted"
