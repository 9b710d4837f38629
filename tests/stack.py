"""The Procfile's processes under honcho, talked to over HTTP: shared by the end-to-end test
(tests/deployment/test_stack.py) and the reliability tests (tests/reliability/).

``Honcho`` starts some of the Procfile's process types the way a platform does and collects their
output line by line (honcho prefixes each line with the process name); ``Api`` is a small HTTP
client that sends what the platform's router adds (``X-Forwarded-Proto: https``).
"""

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from config.settings.base import next_redis_db_url

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PASSWORD = "e2e-long-enough-Passw0rd"  # passes the password validators
READY_TIMEOUT = 60.0
SHUTDOWN_LIMIT = 30.0  # the platform's SIGKILL comes 30 s after its SIGTERM
# Variables of the test run that must not leak into the stack's configuration.
_FOREIGN_PREFIXES = ("DJANGO_", "CELERY_", "HOT_CACHE_", "CACHALOT_", "SILK_", "GUNICORN_", "REDIS_", "CACHE_")
_FOREIGN_NAMES = {"DATABASE_URL", "PORT", "WEB_CONCURRENCY", "SERVER_TIMING_ENABLED", "REMAP_SIGTERM"}
LOG_LINE = re.compile(r"^\d\d:\d\d:\d\d (?P<process>\S+)\s*\| (?P<text>.*)$")
TIMING_ENTRY = re.compile(r'(?P<name>[a-z]+)(?:;dur=[0-9.]+)?(?:;desc="(?P<desc>[^"]*)")?')


# --- services ------------------------------------------------------------------------------


def service_urls() -> tuple[str, str]:
    """DATABASE_URL (PostgreSQL) and REDIS_URL; the test is skipped without them."""
    database_url = os.environ.get("DATABASE_URL", "")
    redis_url = os.environ.get("REDIS_URL", "")
    if not database_url.startswith(("postgres://", "postgresql://")) or not redis_url:
        pytest.skip("needs PostgreSQL and Redis: set DATABASE_URL=postgres://... and REDIS_URL=redis://...")
    return database_url, redis_url


def with_path(url: str, path: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, parts.fragment))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_environment() -> dict[str, str]:
    """This process's environment without the test run's own configuration of the project."""
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(_FOREIGN_PREFIXES) and name not in _FOREIGN_NAMES
    }


def stack_environment(database_url: str, cache_url: str, port: int, workdir: Path, **extra: str) -> dict[str, str]:
    """The environment of the stack's processes: production settings, nothing of the test run's own.

    The broker is the next database number of ``cache_url`` unless ``extra`` sets CELERY_BROKER_URL
    (production requires the variable; its deploy checks refuse that placement, /readyz warns of it).
    """
    env = clean_environment()
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        PYTHONUNBUFFERED="1",
        PORT=str(port),
        WEB_CONCURRENCY="2",
        DJANGO_SETTINGS_MODULE="config.settings.production",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        DATABASE_URL=database_url,
        REDIS_URL=cache_url,
        SERVER_TIMING_ENABLED="true",
        CELERY_BEAT_SCHEDULE_FILE=str(workdir / "celerybeat-schedule"),
        CELERY_BROKER_URL=next_redis_db_url(cache_url),
        # The load these stacks serve comes from one address (127.0.0.1): the anonymous limit per client
        # address (tests/security/test_throttling.py tests it) would answer most of it 429.
        DJANGO_ANON_THROTTLE_RATE="1000000/min",
    )
    env.update(extra)
    return env


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


# --- processes -----------------------------------------------------------------------------


@dataclass
class LogLine:
    at: float  # time.monotonic() when honcho printed it
    process: str  # "web.1", "worker.1", "beat.1", "system"
    text: str

    @property
    def record(self) -> dict | None:
        """The JSON log record on this line, if it is one."""
        try:
            record = json.loads(self.text)
        except ValueError:
            return None
        return record if isinstance(record, dict) else None


class Honcho:
    """``honcho start`` on some of the Procfile's process types, its output collected line by line."""

    def __init__(self, env: dict[str, str], *process_types: str) -> None:
        self.process = subprocess.Popen(
            [str(BIN / "honcho"), "-f", "Procfile", "start", *process_types],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            start_new_session=True,
        )
        self.lines: list[LogLine] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for raw in self.process.stdout:
            match = LOG_LINE.match(raw.rstrip("\n"))
            if match:
                self.lines.append(LogLine(time.monotonic(), match["process"], match["text"]))

    def records(self, process: str) -> list[tuple[float, dict]]:
        return [(line.at, line.record) for line in list(self.lines) if line.process == process and line.record]

    def tail(self, count: int = 60) -> str:
        return "\n".join(f"{line.process} | {line.text}" for line in self.lines[-count:])

    def descendants(self) -> dict[int, str]:
        """Every process below honcho: pid -> its start time (to tell a reused pid apart)."""
        children: dict[int, list[int]] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                stat = proc_stat(int(entry.name))
                if stat:
                    children.setdefault(int(stat[1]), []).append(int(entry.name))
        found, todo = {}, [self.process.pid]
        while todo:
            for child in children.get(todo.pop(), []):
                stat = proc_stat(child)
                if stat:
                    found[child] = stat[19]
                    todo.append(child)
        return found

    def join_reader(self, timeout: float = 5) -> None:
        self._reader.join(timeout=timeout)


def proc_stat(pid: int) -> list[str] | None:
    """/proc/<pid>/stat from the field after the command name: [state, ppid, ..., starttime at 19]."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2 :].split()


def alive(pid: int, started: str) -> bool:
    stat = proc_stat(pid)
    return stat is not None and stat[19] == started and stat[0] != "Z"


def wait_ready(api: "Api", stack: Honcho, timeout: float = READY_TIMEOUT, worker: str | None = "worker.1") -> None:
    """Until ``/readyz`` answers 200 with every check ok and (when ``worker`` is given) that worker consumes."""
    deadline = time.monotonic() + timeout
    ready = False
    worker_ready = worker is None
    while not (ready and worker_ready):
        assert stack.process.poll() is None, f"honcho exited early:\n{stack.tail()}"
        assert time.monotonic() < deadline, f"not ready within {timeout}s:\n{stack.tail()}"
        if not ready:
            try:
                reply = api.call("GET", "/readyz")
                ready = reply.status == 200 and reply.json()["checks"] == {
                    "database": "ok",
                    "cache": "ok",
                    "broker": "ok",
                }
            except OSError:
                pass  # not listening yet
        if not worker_ready:
            worker_ready = any(
                record.get("logger") == "celery.apps.worker" and record.get("message", "").endswith(" ready.")
                for _, record in stack.records(worker)
            )
        time.sleep(0.05)


def stop(stack: Honcho) -> tuple[float, list[int]]:
    """SIGTERM to honcho, as the platform sends it; seconds until every process is gone, and the survivors."""
    processes = stack.descendants()
    assert processes, "honcho started no processes"
    sent = time.monotonic()
    stack.process.send_signal(signal.SIGTERM)
    deadline = sent + SHUTDOWN_LIMIT
    while time.monotonic() < deadline:
        if stack.process.poll() is not None and not any(alive(pid, started) for pid, started in processes.items()):
            break
        time.sleep(0.05)
    survivors = [pid for pid, started in processes.items() if alive(pid, started)]
    if stack.process.poll() is None:
        survivors.append(stack.process.pid)
    return time.monotonic() - sent, survivors


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
        entries = {}
        for raw in self.headers.get("server-timing", "").split(", "):
            match = TIMING_ENTRY.fullmatch(raw.strip())
            if match:
                entries[match["name"]] = match["desc"]
        return entries


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
