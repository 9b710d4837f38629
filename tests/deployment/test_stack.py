"""End to end: the Procfile's processes, started the way a platform starts them, work together.

Needs PostgreSQL and Redis (DATABASE_URL, REDIS_URL): skipped without them, failed when they are
given and do not answer. It works on a database of its own (a fresh ``paeshift_e2e_<random>`` on
the server of DATABASE_URL, dropped at the end), on a private redis-server for the cache (other
runs sharing the machine's Redis cannot write the keys it watches) and, as production requires, on
a broker that never evicts: a private redis-server with ``noeviction`` (tests/redis_server.py):

1. runs the Procfile's ``release`` (deploy checks, migrations) with honcho, then creates a staff
   user with ``createsuperuser --noinput``;
2. starts ``web`` (gunicorn, 2 workers), ``worker`` and ``beat`` with honcho on a free port, with
   production settings; requests carry ``X-Forwarded-Proto: https`` as the platform's router adds;
3. waits until ``/readyz`` answers 200 and the worker is consuming;
4. through the HTTP API: registers a client and a worker, posts a job, applies, accepts, starts,
   completes, pays, marks the payment succeeded (staff), and both sides review each other;
5. waits until every affected hot key holds a payload for its current generation, shows from the
   log (honcho prefixes each line with its process name) that the worker process rebuilt each key
   after the write that last touched it, then reads each hot endpoint once: a hit, with the fresh
   data and no SQL (``Server-Timing``);
6. sends SIGTERM to honcho: every process exits within 30 s without needing a SIGKILL, and none is
   left running.

The timings (release, ready, commit-to-warm, shutdown) are printed even when output is captured.
"""

import contextlib
import os
import re
import secrets
import signal
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import redis

from backend.caching.payload import servable, stored
from bench.stack import (
    BIN,
    SHUTDOWN_LIMIT,
    Honcho,
    create_database,
    drop_database,
    free_port,
    stack_environment,
    stop,
    wait_ready,
)
from tests.redis_server import RedisServer
from tests.stack import PASSWORD, Api, run, service_urls

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis]

WARM_TIMEOUT = 20.0


# --- services ------------------------------------------------------------------------------


@pytest.fixture
def database_url():
    """A fresh PostgreSQL database on the server of DATABASE_URL, dropped afterwards."""
    given, _ = service_urls()
    name = f"paeshift_e2e_{secrets.token_hex(4)}"
    # Unreachable when given: psycopg raises and the test fails (no skip).
    url = create_database(given, name)
    try:
        yield url
    finally:
        drop_database(given, name)


@pytest.fixture
def cache_redis():
    """The cache: a redis-server of its own (REDIS_URL only says the run has Redis), so that no other
    run sharing the machine's Redis writes the keys this test watches."""
    service_urls()
    server = RedisServer()
    server.start()
    cache = redis.Redis.from_url(server.url)
    try:
        yield cache, server.url
    finally:
        cache.close()
        server.close()


@pytest.fixture
def broker_url():
    """A broker that never evicts: a redis-server of its own with ``noeviction``, as production requires."""
    server = RedisServer("--maxmemory-policy", "noeviction")
    server.start()
    try:
        yield server.url
    finally:
        server.close()


# --- the test ------------------------------------------------------------------------------


def test_processes_from_the_procfile_serve_warm_hot_reads_and_shut_down_cleanly(
    database_url, cache_redis, broker_url, tmp_path, capsys
):
    cache, cache_url = cache_redis
    port = free_port()
    env = stack_environment(database_url, cache_url, port, tmp_path, CELERY_BROKER_URL=broker_url)
    api = Api(port)
    timings: dict[str, float] = {}

    # 1. release, as the platform runs it before starting the new processes; then a staff user
    started = time.monotonic()
    release = run([str(BIN / "honcho"), "-f", "Procfile", "start", "release"], env)
    timings["release"] = time.monotonic() - started
    assert release.returncode == 0, release.stdout + release.stderr
    assert "System check identified no issues" in release.stdout, release.stdout
    assert "Applying accounts.0001_initial... OK" in release.stdout, release.stdout
    staff_email = "ops@paeshift.example"
    created = run(
        [str(BIN / "python"), "manage.py", "createsuperuser", "--noinput", "--email", staff_email],
        {**env, "DJANGO_SUPERUSER_PASSWORD": PASSWORD},
    )
    assert created.returncode == 0, created.stdout + created.stderr

    # 2.-3. web, worker and beat; ready when /readyz says so and the worker consumes
    started = time.monotonic()
    stack = Honcho(env, "web", "worker", "beat")
    try:
        wait_ready(stack, port)
        timings["ready"] = time.monotonic() - started
        assert api.expect(200, "GET", "/healthz") == {"status": "ok"}
        assert "warnings" not in api.expect(200, "GET", "/readyz")  # a broker that never evicts
        healthcheck = run([str(BIN / "python"), "docker/healthcheck.py"], env, timeout=10)
        assert healthcheck.returncode == 0, healthcheck.stderr
        # Count from here: the rebuilds queued before the worker started waited for it.
        reset = run([str(BIN / "python"), "manage.py", "cache_stats", "--reset"], env, timeout=30)
        assert reset.returncode == 0, reset.stderr

        # 4. a job's life through the API; last_write[key]: when the request of the write that last
        # touched it was sent. Not when it returned: the worker can rebuild a key between the write's
        # commit and its response reaching this test, and that rebuild is the one to find.
        last_write: dict[tuple[str, int], float] = {}

        def wrote(sent: float, *keys: tuple[str, int]) -> None:
            for key in keys:
                last_write[key] = sent

        client_id, client_token = api.register("client@paeshift.example", "Clara Client")
        worker_id, worker_token = api.register("worker@paeshift.example", "Walter Worker")
        staff_token = api.expect(200, "POST", "/api/v1/auth/token/", body={"email": staff_email, "password": PASSWORD})[
            "token"
        ]
        # A shift starting in a few seconds: the job can be started at once (15 minutes' tolerance) and
        # completed once the shift has begun (issue 12's shift timing).
        shift_start = datetime.now(UTC) + timedelta(seconds=3)
        job_id = api.expect(
            201,
            "POST",
            "/api/v1/jobs/",
            token=client_token,
            body={
                "title": "Warehouse night shift",
                "city": "Lagos",
                "pay_rate": "15.00",
                "shift_start": shift_start.isoformat(),
                "shift_end": (shift_start + timedelta(hours=8)).isoformat(),
            },
        )["id"]
        application_id = api.expect(
            201, "POST", f"/api/v1/jobs/{job_id}/applications/", token=worker_token, body={"cover_note": "Ready."}
        )["id"]
        api.expect(200, "POST", f"/api/v1/applications/{application_id}/accept/", token=client_token)
        api.expect(200, "POST", f"/api/v1/jobs/{job_id}/start/", token=client_token)
        time.sleep(max(0.0, (shift_start - datetime.now(UTC)).total_seconds()) + 0.1)
        sent = time.monotonic()
        assert api.expect(200, "POST", f"/api/v1/jobs/{job_id}/complete/", token=client_token)["status"] == (
            "completed"
        )
        wrote(sent, ("job:detail", job_id))
        payment_id = api.expect(
            201,
            "POST",
            f"/api/v1/jobs/{job_id}/payments/",
            token=client_token,
            body={"payee": worker_id, "amount": "120.00"},
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )["id"]
        sent = time.monotonic()
        assert api.expect(200, "POST", f"/api/v1/payments/{payment_id}/succeed/", token=staff_token)["status"] == (
            "succeeded"
        )
        wrote(
            sent, *[(ns, user) for ns in ("payments:user", "account_details:user") for user in (client_id, worker_id)]
        )
        sent = time.monotonic()
        api.expect(
            201,
            "POST",
            f"/api/v1/jobs/{job_id}/reviews/",
            token=client_token,
            body={"reviewee": worker_id, "rating": 5, "comment": "Early and careful."},
        )
        wrote(sent, ("reviews:user", worker_id), ("profile:user", worker_id), ("reviews:reviewer", client_id))
        sent = time.monotonic()
        api.expect(
            201,
            "POST",
            f"/api/v1/jobs/{job_id}/reviews/",
            token=worker_token,
            body={"reviewee": client_id, "rating": 4, "comment": "Clear instructions."},
        )
        wrote(sent, ("reviews:user", client_id), ("profile:user", client_id), ("reviews:reviewer", worker_id))
        last_commit = time.monotonic()

        # 5. the worker warms every affected key ...
        deadline = last_commit + WARM_TIMEOUT
        pending = set(last_write)
        while pending:
            pending = {key for key in pending if not servable(*stored(cache, *key))}
            assert time.monotonic() < deadline, f"not warm within {WARM_TIMEOUT}s: {sorted(pending)}"
            time.sleep(0.01)
        timings["commit-to-warm"] = time.monotonic() - last_commit

        # ... and it is the worker process that rebuilt each of them after its last write
        # (the test has read no hot endpoint yet, so nothing else could have built them).
        rebuilt_by_worker = {}
        for at, record in stack.records("worker.1"):
            match = re.fullmatch(r"hot cache rebuilt (\S+):(\d+)", record.get("message", ""))
            if match and record.get("logger") == "workers.cache":
                rebuilt_by_worker.setdefault((match[1], int(match[2])), []).append(at)
        for key, written in last_write.items():
            assert any(at >= written for at in rebuilt_by_worker.get(key, [])), (
                f"no worker rebuild of {key} after its last write; rebuilt: {sorted(rebuilt_by_worker)}"
            )
        assert not [record for _, record in stack.records("web.1") if "hot cache rebuilt" in record.get("message", "")]

        # Token authentication is free on a hit only once cachalot holds the token's row: the
        # registrations wrote the token and user tables, so each token's first request after them
        # queries the database. Warm both tokens on an endpoint that is not a hot one.
        for token in (client_token, worker_token):
            api.expect(200, "GET", "/api/v1/auth/me/", token=token)

        # The next read of each hot endpoint: a hit, fresh, and no SQL at all.
        def hot_read(path: str, token: str) -> dict:
            reply = api.call("GET", path, token=token)
            assert reply.status == 200, (path, reply.status, reply.body[:300])
            assert reply.timing.get("cache") == "hit", (path, reply.headers.get("server-timing"))
            assert reply.timing.get("db") == "0 queries", (path, reply.headers.get("server-timing"))
            return reply.json()

        for user_id, token, direction in ((client_id, client_token, "paid"), (worker_id, worker_token, "received")):
            payments = hot_read(f"/api/v1/users/{user_id}/payments/", token)["results"]
            assert [(p["id"], p["status"], p["amount"], p["direction"]) for p in payments] == [
                (payment_id, "succeeded", "120.00", direction)
            ]
        client_account = hot_read("/api/v1/me/account-details/", client_token)
        assert (client_account["total_paid"], client_account["balance"]) == ("120.00", "-120.00")
        worker_account = hot_read("/api/v1/me/account-details/", worker_token)
        assert (worker_account["total_earned"], worker_account["balance"]) == ("120.00", "120.00")
        received = hot_read(f"/api/v1/users/{worker_id}/reviews/", client_token)
        assert (received["count"], received["average_rating"]) == (1, "5.00")
        assert received["results"][0]["comment"] == "Early and careful."
        given = hot_read(f"/api/v1/users/{worker_id}/reviews-given/", worker_token)
        assert [(r["reviewee"]["id"], r["rating"]) for r in given["results"]] == [(client_id, 4)]
        client_received = hot_read(f"/api/v1/users/{client_id}/reviews/", worker_token)
        assert (client_received["count"], client_received["average_rating"]) == (1, "4.00")
        client_given = hot_read(f"/api/v1/users/{client_id}/reviews-given/", client_token)
        assert [(r["reviewee"]["id"], r["rating"]) for r in client_given["results"]] == [(worker_id, 5)]
        worker_profile = hot_read(f"/api/v1/users/{worker_id}/profile/", client_token)
        assert (worker_profile["display_name"], worker_profile["rating_average"], worker_profile["rating_count"]) == (
            "Walter Worker",
            "5.00",
            1,
        )
        client_profile = hot_read(f"/api/v1/users/{client_id}/profile/", worker_token)
        assert (client_profile["rating_average"], client_profile["rating_count"]) == ("4.00", 1)
        job = hot_read(f"/api/v1/jobs/{job_id}/", worker_token)
        assert (job["status"], job["client"]["id"]) == ("completed", client_id)

        # The workers' own commit-to-warm figures (from each invalidation to the stored rebuild).
        namespaces = api.expect(200, "GET", "/api/v1/ops/cache/stats/", token=staff_token)["namespaces"]
        worker_latency = {
            pct: max((row[f"warm_latency_ms_{pct}"] or 0) for row in namespaces.values()) for pct in ("p50", "p95")
        }
    finally:
        # 6. SIGTERM, as the platform sends it: everything exits in time, by itself.
        shutdown, survivors = stop(stack)
        for pid in survivors:  # leave nothing behind, whatever the assertions below say
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        stack.join_reader()
    timings["shutdown"] = shutdown
    assert not survivors, f"still running {SHUTDOWN_LIMIT}s after SIGTERM: {survivors}\n{stack.tail()}"
    system = [line.text for line in stack.lines if line.process == "system"]
    assert not [text for text in system if "SIGKILL" in text], "\n".join(system)
    assert {"web.1", "worker.1", "beat.1"} == {
        text.split()[0] for text in system if re.fullmatch(r"\S+ stopped \(rc=-?\d+\)", text)
    }, "\n".join(system)

    with capsys.disabled():
        print(
            "\n[e2e] "
            + ", ".join(f"{name} {seconds:.2f}s" for name, seconds in timings.items())
            + f" ({len(last_write)} hot keys warmed by the worker; its commit-to-warm per rebuild, worst"
            f" namespace: p50 {worker_latency['p50']:.0f} ms, p95 {worker_latency['p95']:.0f} ms)"
        )
