"""A PostgreSQL streaming replica 500 ms behind: reads that cannot see the lag go to it, the rest to
the primary, and nobody reads stale data after their own acknowledged write (docs/scaling.md,
"Read replica"; backend/common/db_routing.py).

The stack: a private primary and its replica (``pg_basebackup -R``, ``recovery_min_apply_delay =
'500ms'``: tests/scale/postgres_replica.py), the Procfile's web (two gunicorn processes, so a
user's write and their next read may land on different processes) and worker on them, the cache
and broker on a private redis-server. Users write their profile's headline and read it back at
once, through the hot view (payload built by a worker or by a miss, from the primary) and through
the uncached path (``?format=json``: the ORM, routed), as the writer and anonymously. The stale-read
checker (bench/staleness.py) judges every read against the writes acknowledged before it was sent.

Expected: 0 stale reads by the writers and 0 on the hot view (whoever built it); the anonymous
uncached reads are served by the replica (Server-Timing ``replica``) and show the lag (the checker
finds them stale: what the router keeps from the writer); a writer's uncached reads go back to the
replica once it has replayed their write. Without a replica configured nothing changes.
"""

import json
import os
import shutil
import subprocess
import sys
import threading
import time

import psycopg
import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import MiddlewareNotUsed
from django.db import DEFAULT_DB_ALIAS, connection
from django.test.utils import CaptureQueriesContext

from bench.stack import free_port, manage, stack_environment
from bench.staleness import StaleReadChecker
from tests.redis_server import RedisServer
from tests.scale.postgres_replica import ReplicaPair, require_postgres_binaries
from tests.stack import ROOT, Stack

pytestmark = pytest.mark.scale

APPLY_DELAY = "500ms"
USERS = 6
ROUNDS = 5
CATCH_UP_WAIT = 1.2  # seconds after a write before the "later" read: 500 ms of delay + WAL writer's 200 ms
STICKY_SECONDS = 2
ARTIFACT = ROOT / "test-artifacts" / "scale" / "read_replica.json"


@pytest.fixture(scope="module")
def replica_stack(tmp_path_factory):
    require_postgres_binaries()
    if shutil.which("redis-server") is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is not installed: CI must run the read-replica tests")
        pytest.skip("redis-server is not installed")
    pair = ReplicaPair(apply_delay=APPLY_DELAY)
    redis_server = RedisServer()
    stack = None
    try:
        pair.start()
        redis_server.start()
        with psycopg.connect(pair.primary.url(), autocommit=True) as primary:
            primary.execute("CREATE DATABASE paeshift")
        workdir = tmp_path_factory.mktemp("replica-stack")
        env = stack_environment(
            pair.primary.url("paeshift"),
            redis_server.url,
            free_port(),
            workdir,
            DATABASE_REPLICA_URL=pair.replica.url("paeshift"),
            DATABASE_REPLICA_STICKY_SECONDS=str(STICKY_SECONDS),
            DJANGO_AUTH_THROTTLE_RATE="100000/min",
        )
        manage(env, "migrate", "--noinput", "-v0", timeout=120)
        stack = Stack(env, process_types=("web", "worker"), workdir=workdir)
        stack.wait_ready()
        yield stack, pair
    finally:
        if stack is not None:
            stack.close()
        redis_server.close()
        pair.close()


def _headline(reply) -> str:
    assert reply.status == 200, reply.body[:300]
    return reply.json()["headline"]


def test_no_stale_read_after_ones_own_write_with_500ms_of_replica_lag(replica_stack):
    stack, pair = replica_stack
    api = stack.api
    with psycopg.connect(pair.replica.url(), autocommit=True) as replica:
        assert replica.execute("SELECT pg_is_in_recovery()").fetchone()[0] is True
        delay = replica.execute("SHOW recovery_min_apply_delay").fetchone()[0]
    assert delay == APPLY_DELAY

    users = [api.register(f"replica{n}@example.com", f"Replica {n}") for n in range(USERS)]
    # Registering is anonymous: a new account reads the primary for its first STICKY_SECONDS.
    time.sleep(STICKY_SECONDS + 0.2)
    checker = StaleReadChecker()
    lock = threading.Lock()
    reads: dict[str, list[dict]] = {kind: [] for kind in ("own-hot", "own-cold", "own-later", "anon-hot", "anon-cold")}
    errors: list[str] = []

    def read(kind: str, user_id: int, path: str, token: str | None) -> None:
        sent = time.monotonic()
        reply = api.call("GET", path, token=token)
        headline = _headline(reply)
        with lock:
            verdict = checker.judge_value("headline", user_id, headline, sent=sent, seeded="")
            reads[kind].append(
                {
                    "stale": verdict.stale,
                    "wrong": verdict.wrong,
                    "staleness": verdict.staleness,
                    "replica": "replica" in reply.timing,
                    "cache": reply.timing.get("cache"),
                }
            )

    def writer(user_id: int, token: str) -> None:
        hot, cold = f"/api/v1/users/{user_id}/profile/", f"/api/v1/users/{user_id}/profile/?format=json"
        try:
            read("anon-hot", user_id, hot, None)  # popular: the write below enqueues the worker's rebuild
            for n in range(ROUNDS):
                value = f"headline {user_id}.{n}"
                with lock:
                    write = checker.begin_write("headline", user_id, value, sent=time.monotonic())
                reply = api.call("PATCH", "/api/v1/me/profile/", token=token, body={"headline": value})
                with lock:
                    checker.end_write(write, acked=time.monotonic(), ok=reply.status == 200)
                assert reply.status == 200, reply.body[:300]
                read("own-cold", user_id, cold, token)  # the writer's first read: the primary until replayed
                read("anon-cold", user_id, cold, None)  # anyone else's: the replica, behind
                read("anon-hot", user_id, hot, None)  # a miss here builds from the primary, not the replica
                read("own-hot", user_id, hot, token)
                time.sleep(CATCH_UP_WAIT)
                read("own-later", user_id, cold, token)
        except Exception as exc:  # reported below, with the thread's user
            errors.append(f"user {user_id}: {exc!r}")

    threads = [threading.Thread(target=writer, args=user) for user in users]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    elapsed = time.monotonic() - started
    assert not errors, errors

    summary = {
        kind: {
            "reads": len(rows),
            "stale": sum(r["stale"] for r in rows),
            "wrong": sum(r["wrong"] for r in rows),
            "served_by_replica": sum(r["replica"] for r in rows),
            "max_staleness_ms": round(max((r["staleness"] for r in rows), default=0) * 1000, 1),
        }
        for kind, rows in reads.items()
    }
    summary["_run"] = {
        "users": USERS,
        "rounds": ROUNDS,
        "writes": sum(len(w) for w in checker.values.values()),
        "recovery_min_apply_delay": APPLY_DELAY,
        "seconds": round(elapsed, 1),
    }
    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    ARTIFACT.write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))

    # Read-your-writes: the writer never reads an older value, through the cache or the database,
    # and neither does anyone on the hot view (its payloads are built from the primary).
    for kind in ("own-hot", "own-cold", "own-later", "anon-hot"):
        assert summary[kind]["reads"] >= USERS * ROUNDS, (kind, summary)
        assert summary[kind]["stale"] == 0, (kind, summary, [r for r in reads[kind] if r["stale"]][:5])
        assert summary[kind]["wrong"] == 0, (kind, summary)
    # The hot view never read the replica (hits read Redis; a miss builds inside primary()).
    assert summary["anon-hot"]["served_by_replica"] == 0, summary
    assert summary["own-hot"]["served_by_replica"] == 0, summary
    # The replica serves reads: every anonymous uncached read, and the lag is real there (what the
    # router keeps from the writer): the checker finds some of them stale.
    assert summary["anon-cold"]["served_by_replica"] == summary["anon-cold"]["reads"], summary
    assert summary["anon-cold"]["stale"] >= 1, summary
    # Right after their write, a writer's uncached reads are the primary's while the replica is behind (on
    # a loaded machine some are sent after it has replayed: fresh from the replica, which is right too)...
    assert summary["own-cold"]["served_by_replica"] < summary["own-cold"]["reads"], summary
    # ...and go back to the replica once it has replayed their write (not pinned for good).
    assert summary["own-later"]["served_by_replica"] >= summary["own-later"]["reads"] // 2, summary


# --- without a replica ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_without_a_replica_every_query_is_on_the_primary_and_nothing_is_recorded(client_for, user):
    from backend.common import db_routing

    assert db_routing.REPLICA not in settings.DATABASES
    with pytest.raises(MiddlewareNotUsed):
        db_routing.ReadYourWritesMiddleware(lambda request: None)
    router = db_routing.ReplicaRouter()
    token = db_routing._request_reads.set(db_routing.RequestReads(object()))
    try:
        assert router.db_for_read(type(user)) == DEFAULT_DB_ALIAS
    finally:
        db_routing._request_reads.reset(token)

    api = client_for(user)
    with CaptureQueriesContext(connection) as queries:
        assert api.patch("/api/v1/me/profile/", {"headline": "written"}, format="json").status_code == 200
        reply = api.get(f"/api/v1/users/{user.pk}/profile/?format=json")
    assert reply.status_code == 200
    assert reply.json()["headline"] == "written"
    assert not [q["sql"] for q in queries.captured_queries if "pg_" in q["sql"] and "wal" in q["sql"]]
    assert cache.get(db_routing.marker_key(user.pk)) is None


def _settings_error(**environment: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_", "DJANGO_"))}
    env.update(environment)
    result = subprocess.run(
        [sys.executable, "-c", "import config.settings.base"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return result.stderr if result.returncode else ""


def test_replica_settings_refuse_what_cannot_keep_read_your_writes():
    replica = "postgres://postgres@127.0.0.1:5999/paeshift"
    assert "needs PostgreSQL" in _settings_error(DATABASE_REPLICA_URL=replica)  # SQLite primary
    assert "needs REDIS_URL" in _settings_error(
        DATABASE_URL="postgres://postgres@127.0.0.1:5998/paeshift", DATABASE_REPLICA_URL=replica
    )
    assert (
        _settings_error(
            DATABASE_URL="postgres://postgres@127.0.0.1:5998/paeshift",
            DATABASE_REPLICA_URL=replica,
            REDIS_URL="redis://127.0.0.1:6379/4",
        )
        == ""
    )
