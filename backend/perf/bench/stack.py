"""What a benchmark runs against: its own PostgreSQL databases and Redis databases, and the
processes of the real stack (gunicorn, one Celery worker on the ``cache`` queue, beat).

Every process is started by us, in its own session (process group), and stopped by its id:
SIGTERM first (gunicorn finishes in-flight requests, Celery does a warm shutdown), SIGKILL of its
group if it is still there after the grace period.
"""

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import redis
from psycopg import sql

REPO = Path(__file__).resolve().parents[3]
PYTHON = sys.executable
# The caller's settings for these are not the benchmark's: each configuration sets its own.
_OWN_VARIABLES = (
    "DJANGO_",
    "CELERY_",
    "SILK",
    "CACHALOT_",
    "HOT_CACHE_",
    "CACHE_",
    "SERVER_TIMING",
    "GUNICORN_",
    "WEB_CONCURRENCY",
    "DATABASE_URL",
    "REDIS_URL",
)


def _with_path(url: str, path: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, parts.fragment))


@dataclass
class Services:
    """PostgreSQL (a server where we may create databases) and Redis (two database numbers)."""

    database_url: str
    redis_url: str
    cache_db: int = 8
    broker_db: int = 9

    def database(self, name: str) -> str:
        return _with_path(self.database_url, f"/{name}")

    @property
    def cache_url(self) -> str:
        return _with_path(self.redis_url, f"/{self.cache_db}")

    @property
    def broker_url(self) -> str:
        return _with_path(self.redis_url, f"/{self.broker_db}")

    def _admin(self):
        return psycopg.connect(self.database("postgres"), autocommit=True, connect_timeout=5)

    def database_exists(self, name: str) -> bool:
        with self._admin() as conn:
            return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None

    def create_database(self, name: str, *, template: str | None = None) -> None:
        self.drop_database(name)
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            statement = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template))
        with self._admin() as conn:
            conn.execute(statement)

    def drop_database(self, name: str) -> None:
        with self._admin() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def postgres_version(self) -> str:
        with self._admin() as conn:
            return conn.execute("SHOW server_version").fetchone()[0]

    def flush_redis(self) -> None:
        for db in (self.cache_db, self.broker_db):
            client = redis.Redis.from_url(_with_path(self.redis_url, f"/{db}"), socket_timeout=5)
            client.flushdb()
            client.close()

    def redis_version(self) -> str:
        client = redis.Redis.from_url(self.cache_url, socket_timeout=5)
        try:
            return client.info("server").get("redis_version", "?")
        finally:
            client.close()

    def env(self, database: str, overrides: dict[str, str]) -> dict[str, str]:
        """The environment of every process of the stack (and of our manage.py subprocesses)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(_OWN_VARIABLES)}
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "config.settings.production",
                "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
                "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
                "DJANGO_SECURE_SSL_REDIRECT": "false",
                "DATABASE_URL": self.database(database),
                "REDIS_URL": self.cache_url,
                "CELERY_BROKER_URL": self.broker_url,
                "SERVER_TIMING_ENABLED": "true",
                "SILK_ENABLED": "false",
                # Every simulated user comes from one address (127.0.0.1): the per-address anonymous
                # limit would answer the workload's anonymous reads 429 instead of measuring them.
                "DJANGO_ANON_THROTTLE_RATE": "1000000/min",
                "PYTHONPATH": str(REPO),
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(overrides)
        return env


def manage(env: dict[str, str], *args: str, log: Path | None = None, timeout: float | None = None) -> str:
    """Run ``manage.py ARGS`` with ``env``; its output (stdout), or an error with the log's tail."""
    result = subprocess.run(
        [PYTHON, str(REPO / "manage.py"), *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if log is not None:
        with log.open("a") as handle:
            handle.write(f"$ manage.py {' '.join(args)}\n{result.stdout}{result.stderr}\n")
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{(result.stdout + result.stderr)[-3000:]}")
    return result.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Stack:
    """gunicorn, one Celery worker on the ``cache`` queue, and beat when asked."""

    env: dict[str, str]
    logs: Path
    web_workers: int = 2
    web_threads: int = 1
    worker_concurrency: int = 2
    beat: bool = False
    port: int = field(default_factory=free_port)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _start(self, name: str, argv: list[str]) -> None:
        log = (self.logs / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(
            argv,
            env={**self.env, "WEB_CONCURRENCY": str(self.web_workers), "GUNICORN_THREADS": str(self.web_threads)},
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()

    def start(self) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        self._start(
            "web",
            [
                PYTHON,
                "-m",
                "gunicorn",
                "config.wsgi:application",
                "--config",
                "config/gunicorn.conf.py",
                "--bind",
                f"127.0.0.1:{self.port}",
            ],
        )
        self._start(
            "worker",
            [
                PYTHON,
                "-m",
                "celery",
                "-A",
                "config.celery_app",
                "worker",
                "--queues",
                "cache",
                "--concurrency",
                str(self.worker_concurrency),
                "--prefetch-multiplier",
                "1",
                "--without-gossip",
                "--without-mingle",
                "--loglevel",
                "INFO",
                "--hostname",
                f"bench-{self.port}@%h",
            ],
        )
        if self.beat:
            self._start(
                "beat",
                [
                    PYTHON,
                    "-m",
                    "celery",
                    "-A",
                    "config.celery_app",
                    "beat",
                    "--schedule",
                    str(self.logs / "celerybeat-schedule"),
                    "--loglevel",
                    "INFO",
                ],
            )

    def wait_ready(self, timeout: float = 90.0) -> None:
        """Until /readyz answers 200 and the worker says it is ready."""
        deadline = time.monotonic() + timeout
        web_ready = worker_ready = False
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited with {process.returncode}; see {self.logs / (name + '.log')}")
            if not web_ready:
                try:
                    with urllib.request.urlopen(f"{self.url}/readyz", timeout=2) as response:
                        web_ready = response.status == 200
                except (urllib.error.URLError, OSError):
                    pass
            if not worker_ready:
                worker_ready = b" ready." in (self.logs / "worker.log").read_bytes()
            if web_ready and worker_ready:
                return
            time.sleep(0.25)
        raise RuntimeError(f"the stack was not ready after {timeout:.0f} s; see the logs in {self.logs}")

    def pids(self) -> dict[str, int]:
        return {name: process.pid for name, process in self.processes.items()}

    def stop(self, grace: float = 20.0) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        for process in self.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
        for process in self.processes.values():
            # The group holds the process's children (gunicorn's workers, Celery's pool).
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        self.processes.clear()
