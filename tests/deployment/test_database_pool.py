"""DATABASE_POOL: Django's native psycopg pool (config/settings/base.py), for a web server with threads.

The settings as production loads them (a fresh process), then gunicorn with threads on PostgreSQL:
whatever the number of threads and concurrent requests, one web process holds at most
DATABASE_POOL_MAX_SIZE connections, and keeps them across requests; without the pool, the same
server opens one per thread (the contrast that shows the bound is the pool's doing).
"""

import json
import secrets
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from bench.stack import Stack, admin_connection, create_database, drop_database, free_port, manage, stack_environment
from tests.deployment.test_production_settings import django, production_env
from tests.stack import service_urls

THREADS = 8
POOL_MAX = 2
REQUESTS = 240


def test_pool_settings_from_the_environment():
    code = """
from django.conf import settings as s
import json
db = s.DATABASES["default"]
print(json.dumps({"max_age": db["CONN_MAX_AGE"], "pool": db["OPTIONS"]["pool"],
                  "connect_timeout": db["OPTIONS"]["connect_timeout"]}))
"""
    result = django(code, production_env(DATABASE_POOL="true", DATABASE_POOL_MAX_SIZE="6", DATABASE_POOL_TIMEOUT="2.5"))

    assert result.returncode == 0, result.stderr
    # Django refuses a pool with persistent connections: production's default of 60 s gives way.
    assert json.loads(result.stdout) == {
        "max_age": 0,
        "pool": {"min_size": 2, "max_size": 6, "timeout": 2.5},
        "connect_timeout": 5,
    }


def test_no_pool_by_default():
    result = django(
        "from django.conf import settings as s; print('pool' in s.DATABASES['default']['OPTIONS'])",
        production_env(),
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"DJANGO_CONN_MAX_AGE": "60"}, "unset DJANGO_CONN_MAX_AGE"),
        ({"DATABASE_URL": "sqlite:////tmp/paeshift-pool.sqlite3"}, "needs PostgreSQL"),
        ({"DATABASE_POOL_MIN_SIZE": "5", "DATABASE_POOL_MAX_SIZE": "2"}, "need 0 <= min <= max"),
        ({"DATABASE_POOL_MAX_SIZE": "0", "DATABASE_POOL_MIN_SIZE": "0"}, "max >= 1"),
    ],
    ids=["persistent-connections", "sqlite", "min-above-max", "empty"],
)
def test_a_pool_that_cannot_work_stops_start_up_with_the_reason(overrides, message):
    result = django("", production_env(DATABASE_POOL="true", **overrides))

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


# --- on PostgreSQL, under gunicorn's threads ------------------------------------------------------


@pytest.fixture
def database_url():
    given, _ = service_urls()
    name = f"paeshift_pool_{secrets.token_hex(4)}"
    url = create_database(given, name)
    try:
        yield url
    finally:
        drop_database(given, name)


def serve_concurrently(database_url: str, tmp_path, **pool_env: str) -> tuple[list[int], set[int], int]:
    """gunicorn, one process of THREADS threads, answering REQUESTS reads that each run SQL, sent
    THREADS at a time; (statuses, backend pids seen serving the database, most at once)."""
    _, redis_url = service_urls()
    port = free_port()
    env = stack_environment(
        database_url,
        redis_url,
        port,
        tmp_path,
        WEB_CONCURRENCY="1",
        GUNICORN_THREADS=str(THREADS),
        GUNICORN_ACCESS_LOG="false",
        # Every read runs its SQL: no cachalot, no hot cache in front of the database.
        CACHALOT_ENABLED="false",
        HOT_CACHE_ENABLED="false",
        HOT_CACHE_WORKER_REBUILD="false",
        **pool_env,
    )
    manage(env, "migrate", "--noinput", timeout=300)
    database = database_url.rsplit("/", 1)[1]
    seen: set[int] = set()
    most = 0
    stop = threading.Event()

    def watch() -> None:
        nonlocal most
        with admin_connection(database_url) as admin:
            while not stop.is_set():
                rows = admin.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [database]
                ).fetchall()
                seen.update(row[0] for row in rows)
                most = max(most, len(rows))
                time.sleep(0.005)

    def get(_: int) -> int:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/jobs/",
            headers={"X-Forwarded-Proto": "https", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    stack = Stack(env, ("web",), server="gunicorn-gthread", workdir=tmp_path)
    try:
        stack.wait_ready()
        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        with ThreadPoolExecutor(THREADS) as pool:
            statuses = list(pool.map(get, range(REQUESTS)))
        stop.set()
        watcher.join(timeout=10)
    finally:
        stop.set()
        stack.close()
    return statuses, seen, most


@pytest.mark.e2e
@pytest.mark.postgres
@pytest.mark.redis
def test_threads_share_a_bounded_pool_of_connections_kept_across_requests(database_url, tmp_path):
    statuses, seen, most = serve_concurrently(
        database_url, tmp_path, DATABASE_POOL="true", DATABASE_POOL_MIN_SIZE="1", DATABASE_POOL_MAX_SIZE=str(POOL_MAX)
    )

    assert statuses == [200] * REQUESTS
    # At most POOL_MAX at once, and the same connections all along (a connection per request would
    # show a new backend pid each time; /readyz's probe and the migration ran before the watch).
    assert most <= POOL_MAX
    assert len(seen) <= POOL_MAX


@pytest.mark.e2e
@pytest.mark.postgres
@pytest.mark.redis
def test_without_the_pool_the_same_threads_open_a_connection_each(database_url, tmp_path):
    statuses, seen, most = serve_concurrently(database_url, tmp_path)

    assert statuses == [200] * REQUESTS
    # Production's persistent connections (CONN_MAX_AGE 60) are per thread: more than the pool's bound.
    assert most > POOL_MAX
    assert len(seen) > POOL_MAX
