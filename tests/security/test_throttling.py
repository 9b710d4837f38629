"""Rate limits that hold under concurrency, during a Redis outage, and for anonymous reads.

Anonymous reads: every route the access matrix lets an anonymous caller read is limited per
client address (``DJANGO_ANON_THROTTLE_RATE``); the health probes never are.

Concurrency runs against a real gunicorn (2 worker processes x 8 threads) on a private
redis-server: a burst of requests released together by a barrier, from one client, is counted
exactly (DRF's own throttle reads and writes back a list, so a burst got through whole), and
neither is a burst whose every request claims another address in its forwarding headers.
"""

import http.client
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import redis
from rest_framework.test import APIClient

from backend.common import throttling
from bench.stack import free_port
from tests.assertions import assert_error
from tests.redis_server import RedisServer
from tests.security.test_access_matrix import MATRIX

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 10
BURST = 40
THREADS_PER_WORKER = 8


# --- concurrency, against gunicorn -------------------------------------------------------------


@pytest.fixture(scope="module")
def gunicorn():
    """gunicorn serving the test settings on a private Redis; auth limited to LIMIT an hour."""
    cache = RedisServer()
    cache.start()
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "REDIS_URL": cache.url,
        # Never opened (the requests run no query), but never the run's database either.
        "DATABASE_URL": f"sqlite:///{cache.dir}/unused.sqlite3",
        # An hour's window: a burst of a second almost never straddles two (checked below anyway).
        "DJANGO_AUTH_THROTTLE_RATE": f"{LIMIT}/hour",
    }
    command = [
        *(sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{port}"),
        *("--workers", "2", "--threads", str(THREADS_PER_WORKER), "--worker-class", "gthread"),
        # no control socket: several servers on one machine would share its path
        *("--log-level", "warning", "--no-control-socket"),
    ]
    log = open(Path(cache.dir) / "gunicorn.log", "w")  # noqa: SIM115 (closed below)
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, (Path(cache.dir) / "gunicorn.log").read_text()
            try:
                if _send(port, "GET", "/healthz", {}).status == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.05)
        yield port, redis.Redis.from_url(cache.url)
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
        cache.close()


def _send(port: int, method: str, path: str, headers: dict[str, str | list[str]], body: bytes = b"") -> object:
    """One request; a header given a list is sent once per value (several X-Forwarded-For headers)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.putrequest(method, path)
        for name, values in {"Content-Type": "application/json", **headers}.items():
            for value in values if isinstance(values, list) else [values]:
                connection.putheader(name, value)
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        response.read()
        return response
    finally:
        connection.close()


def _burst(port: int, headers_for) -> list[int]:
    """BURST token requests released together; their statuses."""
    barrier = threading.Barrier(BURST)
    statuses: list[int] = [0] * BURST
    body = b"{}"  # refused by validation (400) without a query: the burst measures the limiter alone

    def attempt(n: int) -> None:
        barrier.wait()
        statuses[n] = _send(port, "POST", "/api/v1/auth/token/", headers_for(n), body).status

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(BURST)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def _spoofing(n: int) -> dict[str, str | list[str]]:
    return {
        "X-Forwarded-For": [f"198.51.100.{n}", f"192.0.2.{n}"],
        "X-Real-IP": f"198.51.100.{n}",
        "Forwarded": f"for=198.51.100.{n}",
    }


SENDERS = {"one client, plain requests": lambda n: {}, "one client, each request claiming another address": _spoofing}


@pytest.mark.parametrize("headers_for", SENDERS.values(), ids=SENDERS.keys())
def test_a_concurrent_burst_gets_exactly_the_limit_through_gunicorn(gunicorn, headers_for):
    port, cache = gunicorn
    cache.flushall()  # the private server: each burst starts with an empty window
    if 3600 - time.time() % 3600 < 5:  # a burst across the hour would count in two windows
        time.sleep(3600 - time.time() % 3600 + 0.1)

    statuses = _burst(port, headers_for)

    allowed = sum(status != 429 for status in statuses)
    assert set(statuses) <= {400, 429}, statuses  # never a 5xx
    assert allowed == LIMIT, f"{allowed} of {BURST} concurrent attempts got through a limit of {LIMIT}"


# --- during a Redis outage -------------------------------------------------------------------

RATE = 3


def _stop(server: RedisServer) -> None:
    server.stop()


def _out_of_memory(server: RedisServer) -> None:
    client = redis.Redis.from_url(server.url)
    client.config_set("maxmemory-policy", "noeviction")
    client.config_set("maxmemory", 1)


FAULTS = {"stopped": _stop, "out of memory (noeviction)": _out_of_memory}


@pytest.fixture
def no_process_counts():
    throttling._process_counts.clear()
    yield
    throttling._process_counts.clear()


@pytest.mark.django_db
@pytest.mark.usefixtures("no_process_counts")
@pytest.mark.parametrize("fault", FAULTS.values(), ids=FAULTS.keys())
def test_during_a_redis_outage_each_process_keeps_the_limit_and_nothing_fails(own_redis, settings, fault, user):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "auth": f"{RATE}/day"},
    }
    fault(own_redis)
    client = APIClient()

    for _ in range(RATE):
        assert_error(client.post("/api/v1/auth/token/", {"email": user.email, "password": "guess"}), 400)

    response = client.post("/api/v1/auth/token/", {"email": user.email, "password": "guess"})
    assert_error(response, 429, code="throttled")
    assert int(response["Retry-After"]) > 0


# --- anonymous reads -------------------------------------------------------------------------

ANON_RATE = 2
PROBES = {"healthz", "readyz"}
# Every route an anonymous caller may read (the access matrix's public GETs), the probes apart.
ANONYMOUS_READS = [row for row in MATRIX if row.method == "GET" and row.expected[0] == 200 and row.route not in PROBES]


@pytest.fixture
def anon_rate_of_two(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "anon": f"{ANON_RATE}/day"},
    }


@pytest.mark.usefixtures("anon_rate_of_two")
@pytest.mark.parametrize("row", ANONYMOUS_READS, ids=lambda row: row.id)
def test_anonymous_reads_are_limited_per_client_address(world, row):
    path = row.path.format(**world.path_values())
    for n in range(ANON_RATE):
        response = APIClient().get(path, HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")
        assert response.status_code == 200, response.content

    response = APIClient().get(path, HTTP_X_FORWARDED_FOR="198.51.100.99")
    assert_error(response, 429, code="throttled")
    assert int(response["Retry-After"]) > 0
    # another address, and a caller with a token, are not held back
    assert APIClient(REMOTE_ADDR="10.0.0.9").get(path).status_code == 200
    assert APIClient().get(path, HTTP_AUTHORIZATION=f"Token {world.tokens['stranger']}").status_code == 200


@pytest.mark.usefixtures("anon_rate_of_two")
@pytest.mark.parametrize("path", sorted(f"/{probe}" for probe in PROBES))
def test_the_health_probes_are_never_limited(db, path):
    for _ in range(ANON_RATE * 3):
        assert APIClient().get(path).status_code == 200
