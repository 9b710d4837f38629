"""The test side of the process stacks (bench/stack.py runs them): the services a test needs, and
a small HTTP client that sends what the platform's router adds (``X-Forwarded-Proto: https``).

Shared by the end-to-end tests (tests/deployment/) and the reliability tests (tests/reliability/).
"""

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from bench import stack as process_stack
from bench.server_timing import parse_server_timing
from bench.stack import REPO as ROOT

PASSWORD = "e2e-long-enough-Passw0rd"  # passes the password validators


# --- services ------------------------------------------------------------------------------


def service_urls() -> tuple[str, str]:
    """DATABASE_URL (PostgreSQL) and REDIS_URL; the test is skipped without them."""
    database_url = os.environ.get("DATABASE_URL", "")
    redis_url = os.environ.get("REDIS_URL", "")
    if not database_url.startswith(("postgres://", "postgresql://")) or not redis_url:
        pytest.skip("needs PostgreSQL and Redis: set DATABASE_URL=postgres://... and REDIS_URL=redis://...")
    return database_url, redis_url


def run(command: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False)


def wait_until(condition: Callable[[], object], timeout: float, message: str | Callable[[], str], step=0.02):
    """Poll ``condition`` until it returns something truthy (returned); fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(message() if callable(message) else message)
        time.sleep(step)


# --- HTTP ----------------------------------------------------------------------------------


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)

    @property
    def timing(self) -> dict[str, str | None]:
        """Server-Timing as {name: desc}."""
        return {name: entry["desc"] for name, entry in parse_server_timing(self.headers.get("server-timing")).items()}


class Api:
    def __init__(self, port: int, timeout: float = 10) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.timeout = timeout

    def call(self, method: str, path: str, token: str | None = None, body=None, headers=None) -> Reply:
        # TLS ends at the platform's router, which says so in X-Forwarded-Proto.
        request_headers = {"X-Forwarded-Proto": "https", "Accept": "application/json", **(headers or {})}
        if token:
            request_headers["Authorization"] = f"Token {token}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            request_headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=request_headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return Reply(response.status, {k.lower(): v for k, v in response.headers.items()}, response.read())
        except urllib.error.HTTPError as error:
            return Reply(error.code, {k.lower(): v for k, v in error.headers.items()}, error.read())

    def expect(self, status: int, method: str, path: str, **kwargs) -> dict:
        reply = self.call(method, path, **kwargs)
        assert reply.status == status, f"{method} {path}: {reply.status} {reply.body[:500]!r}"
        return reply.json()

    def register(self, email: str, display_name: str, password: str = PASSWORD) -> tuple[int, str]:
        body = self.expect(
            201,
            "POST",
            "/api/v1/auth/register/",
            body={"email": email, "password": password, "display_name": display_name},
        )
        return body["user"]["id"], body["token"]


@dataclass
class Stack(process_stack.Stack):
    """The Procfile's processes under honcho (bench/stack.py), with an API client on their port."""

    api: Api = field(init=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.api = Api(self.port, timeout=20)
