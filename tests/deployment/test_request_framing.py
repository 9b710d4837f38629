"""Kind 3 of issue 11 on the wire: raw bytes on a socket to gunicorn, started from the Procfile.

The same table as the test-client test (``tests/security/body_cases.py``), plus the framings only
a real server sees (two Content-Length headers, Content-Length with Transfer-Encoding, an
unknown transfer coding) and the errors gunicorn answers itself (request line and header limits),
which ``config/gunicorn.conf.py`` writes in the API's JSON shape.

Needs PostgreSQL and Redis (DATABASE_URL, REDIS_URL): a fresh database on the server of
DATABASE_URL, dropped at the end; Redis databases 14 (cache) and 15 (broker) of REDIS_URL's server.
"""

import http.client
import json
import secrets
import socket

import psycopg
import pytest

from bench.stack import BIN, Honcho, free_port, stack_environment, stop, wait_ready, with_path
from tests.redis_server import RedisServer
from tests.security.body_cases import CASES, PATH, Case, request_bytes
from tests.stack import Api, run, service_urls

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis]

SOCKET_CASES = [case for case in CASES if case.only != "client"]
ROUTER_HEADERS = {"X-Forwarded-Proto": "https"}  # what the platform's router adds


class Server:
    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.token = token
        self.api = Api(port)

    def send(self, raw: bytes) -> tuple[int, dict[str, str], bytes]:
        """``raw`` on a new connection, half-closed after it; the response's status, headers, body."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as sock:
            sock.sendall(raw)
            sock.shutdown(socket.SHUT_WR)
            response = http.client.HTTPResponse(sock)
            response.begin()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()

    def bio(self) -> str:
        return self.api.expect(200, "GET", PATH, token=self.token)["bio"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    given, _ = service_urls()
    # A private redis-server for the cache and the broker: numbered databases of the shared one are
    # other runs' (a concurrent suite's anonymous-state test scans its whole database).
    redis_server = RedisServer()
    redis_server.start()
    name = f"paeshift_framing_{secrets.token_hex(4)}"
    maintenance = with_path(given, "/postgres")
    with psycopg.connect(maintenance, autocommit=True, connect_timeout=5) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    port = free_port()
    env = stack_environment(
        with_path(given, f"/{name}"),
        redis_server.url,
        port,
        tmp_path_factory.mktemp("framing"),
        CELERY_BROKER_URL=with_path(redis_server.url, "/1"),
        WEB_CONCURRENCY="1",
    )
    stack = None
    try:
        migrated = run([str(BIN / "python"), "manage.py", "migrate", "--noinput"], env)
        assert migrated.returncode == 0, migrated.stderr
        stack = Honcho(env, "web")
        api = Api(port)
        wait_ready(stack, port, worker=None)
        _, token = api.register(f"framing-{secrets.token_hex(3)}@example.com", "Framing")
        yield Server(port, token)
    finally:
        if stack is not None:
            stop(stack)
        redis_server.close()
        with psycopg.connect(maintenance, autocommit=True, connect_timeout=5) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def assert_json_error(status: int, headers: dict[str, str], body: bytes, expected: int, code: str) -> None:
    assert status == expected, body[:300]
    assert headers["content-type"] == "application/json"
    document = json.loads(body)
    assert set(document) == {"type", "errors"}
    assert code in [error["code"] for error in document["errors"]], document
    assert all(set(error) == {"code", "detail", "attr"} for error in document["errors"])


@pytest.mark.parametrize("case", SOCKET_CASES, ids=[case.id for case in SOCKET_CASES])
def test_a_body_framed_or_nested_unusually_is_applied_or_refused_by_gunicorn(server, case: Case):
    # given
    before = server.bio()
    marker = f"bio-{secrets.token_hex(4)}"
    extra = {**ROUTER_HEADERS, "Authorization": f"Token {server.token}"}

    # when
    status, headers, body = server.send(request_bytes(case, marker, "127.0.0.1", extra))

    # then: applied and read back, or a 4xx in the API's shape with nothing changed
    assert status < 500, body[:300]
    if case.expect is None:
        assert status == 200, body[:300]
        assert server.bio() == marker
    else:
        assert_json_error(status, headers, body, *case.expect)
        assert server.bio() == before


GUNICORN_LIMITS = [
    # (what, request line and headers, status, code); gunicorn's defaults: docs/deployment.md.
    ("a-request-line-over-4094-bytes", f"GET /api/v1/jobs/?q={'a' * 4100} HTTP/1.1\r\n", 414, "request_line_too_long"),
    (
        "more-than-100-headers",
        "GET /api/v1/jobs/ HTTP/1.1\r\n" + "".join(f"X-H{i}: 1\r\n" for i in range(101)),
        431,
        "request_headers_too_large",
    ),
    (
        "a-header-over-8190-bytes",
        f"GET /api/v1/jobs/ HTTP/1.1\r\nX-Big: {'a' * 8200}\r\n",
        431,
        "request_headers_too_large",
    ),
    ("not-http", "HELLO\r\n", 400, "bad_request"),
]


@pytest.mark.parametrize(("what", "head", "status", "code"), GUNICORN_LIMITS, ids=[row[0] for row in GUNICORN_LIMITS])
def test_what_gunicorn_refuses_itself_is_json_in_the_api_shape(server, what, head, status, code):
    answer = server.send(f"{head}Host: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())

    assert_json_error(*answer, status, code)
