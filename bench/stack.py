"""The real stack as a platform runs it: the Procfile's processes under honcho, on databases of
their own. One implementation for the benchmark (``manage.py bench``) and the tests that need
whole processes (tests/deployment/, tests/reliability/, which add an HTTP client: tests/stack.py).

- ``free_port``, ``with_path``: a TCP port to listen on, a service URL with another path.
- ``admin_connection``, ``create_database``, ``drop_database``: databases on a PostgreSQL server
  where we may create them (a copy of a seeded template is one ``CREATE DATABASE ... TEMPLATE``).
- ``stack_environment``: the processes' environment (production settings by default, the
  benchmark's ``config.settings.bench`` for bench runs), nothing of the caller's own configuration.
- ``Honcho``: ``honcho start`` on some Procfile process types; its output collected line by line in
  memory (tests read timestamps off it) or written to a file (the benchmark: no reader competing
  for the CPU it measures).
- ``Stack``: a ``Honcho`` with readiness (``/readyz`` and the worker's "ready."), process ids for
  CPU accounting, and a stop that leaves nothing behind.
- ``WEB_SERVERS``, ``procfile``: the web servers the benchmark compares (docs/benchmarks/servers.md):
  the Procfile's own (gunicorn, sync workers), gunicorn with threads, granian; a Procfile whose
  ``web`` line runs the one asked for, the other lines unchanged.

Why by hand: the point is to run the deployment's own Procfile the way the platform does (honcho,
SIGTERM, the platform's 30 s to SIGKILL); a general process supervisor would be a different stack.
Django is never set up here (``config.settings.base`` is imported for ``next_redis_db_url`` alone, the
broker placement the settings themselves use), so tests and the benchmark's driver import it freely.
"""

import contextlib
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
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from config.settings.base import next_redis_db_url

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PYTHON = sys.executable
READY_TIMEOUT = 60.0
SHUTDOWN_LIMIT = 30.0  # the platform's SIGKILL comes 30 s after its SIGTERM
# The caller's configuration of the project, which must not leak into the stack's: each stack (and
# each benchmark configuration) sets its own.
_FOREIGN_PREFIXES = (
    "DJANGO_",
    "CELERY_",
    "HOT_CACHE_",
    "CACHALOT_",
    "SILK",
    "GUNICORN_",
    "REDIS_",
    "CACHE_",
    "SERVER_TIMING",
    "GRANIAN_",
    "DATABASE_POOL",
)
_FOREIGN_NAMES = {"DATABASE_URL", "PORT", "WEB_CONCURRENCY", "REMAP_SIGTERM"}
# The web servers a stack can run (docs/benchmarks/servers.md). gunicorn-sync is the Procfile as it
# is; gunicorn-gthread is the same line with GUNICORN_THREADS > 1 (gunicorn then uses its gthread
# worker, which keeps connections alive: config/gunicorn.conf.py's keepalive); granian replaces the
# web line with granian's WSGI interface. Threads and the database pool are the caller's
# environment (GUNICORN_THREADS or GRANIAN_BLOCKING_THREADS, DATABASE_POOL*).
WEB_SERVERS = ("gunicorn-sync", "gunicorn-gthread", "granian")
# granian's options (`granian --help`): HTTP/1 only, as behind a platform's router; no websockets
# (WSGI has none); on SIGTERM, workers that have not finished in 20 s are killed (gunicorn's
# graceful_timeout); a worker that dies is replaced (gunicorn's arbiter does it always). granian has
# no request timeout (https://github.com/emmett-framework/granian/issues/177, wontfix): a hung
# request holds its thread for good, unlike gunicorn's `timeout`.
GRANIAN_WEB = (
    "exec granian --interface wsgi config.wsgi:application --host 0.0.0.0 --port $PORT"
    " --workers ${WEB_CONCURRENCY:-2} --http 1 --no-ws --backlog 2048 --workers-kill-timeout 20"
    " --respawn-failed-workers --log-level warning"
)
# The program each server's web process runs: the topmost process of that name is the web root.
WEB_PROGRAM = {"gunicorn-sync": "gunicorn", "gunicorn-gthread": "gunicorn", "granian": "granian"}
# honcho's output: "HH:MM:SS <process type>.<n> | <the process's line>"
LOG_LINE = re.compile(r"^\d\d:\d\d:\d\d (?P<process>\S+)\s*\| (?P<text>.*)$")


# --- services ------------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (the kernel's choice)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def with_path(url: str, path: str) -> str:
    """``url`` with its path replaced: a database name (``/paeshift_x``) or a Redis database (``/3``)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, parts.fragment))


def admin_connection(server_url: str) -> psycopg.Connection:
    """An autocommit connection to the ``postgres`` database of the server of ``server_url``."""
    return psycopg.connect(with_path(server_url, "/postgres"), autocommit=True, connect_timeout=5)


def create_database(server_url: str, name: str, *, template: str | None = None) -> str:
    """A new database ``name`` (a copy of ``template`` when given), replacing any of that name; its URL."""
    drop_database(server_url, name)
    statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template:
        statement = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template))
    with admin_connection(server_url) as connection:
        connection.execute(statement)
    return with_path(server_url, f"/{name}")


def drop_database(server_url: str, name: str) -> None:
    """Drop ``name`` if it exists, closing its connections (``WITH (FORCE)``, PostgreSQL 13+)."""
    with admin_connection(server_url) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def clean_environment() -> dict[str, str]:
    """This process's environment without its own configuration of the project."""
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(_FOREIGN_PREFIXES) and name not in _FOREIGN_NAMES
    }


def stack_environment(
    database_url: str,
    cache_url: str,
    port: int,
    workdir: Path,
    *,
    settings: str = "config.settings.production",
    **extra: str,
) -> dict[str, str]:
    """The environment of the stack's processes (and of ``manage.py`` run against the same data).

    ``settings`` is the settings module: production's, or ``config.settings.bench`` (production
    plus the measurement tooling) for benchmark runs and for seeding demo data into a database a
    production stack then serves. The broker is the next database number of ``cache_url`` unless
    ``extra`` sets CELERY_BROKER_URL (production requires the variable; its deploy checks refuse
    that placement, /readyz warns of it). ``extra`` overrides anything.
    """
    env = clean_environment()
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        PYTHONPATH=str(REPO),
        PYTHONUNBUFFERED="1",
        PORT=str(port),
        WEB_CONCURRENCY="2",
        DJANGO_SETTINGS_MODULE=settings,
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


def manage(env: dict[str, str], *args: str, log: Path | None = None, timeout: float | None = None) -> str:
    """Run ``manage.py ARGS`` with ``env``; its output (stdout), or RuntimeError with the output's tail.

    ``log``: a file the command line and its whole output are appended to.
    """
    result = subprocess.run(
        [PYTHON, str(REPO / "manage.py"), *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=timeout
    )
    if log is not None:
        with log.open("a") as handle:
            handle.write(f"$ manage.py {' '.join(args)}\n{result.stdout}{result.stderr}\n")
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{(result.stdout + result.stderr)[-3000:]}")
    return result.stdout


# --- processes -----------------------------------------------------------------------------


def procfile(server: str, directory: Path) -> Path:
    """The Procfile to run ``server`` with: the repository's own for gunicorn (sync or threads), a
    copy in ``directory`` with granian on the ``web`` line otherwise."""
    if server not in WEB_SERVERS:
        raise ValueError(f"unknown web server {server!r}; choose from {', '.join(WEB_SERVERS)}")
    if WEB_PROGRAM[server] == "gunicorn":
        return REPO / "Procfile"
    lines = (REPO / "Procfile").read_text().splitlines()
    replaced = [f"web: {GRANIAN_WEB}" if line.startswith("web:") else line for line in lines]
    directory.mkdir(parents=True, exist_ok=True)
    # Not named after the server: honcho's command line names the file, and ``Stack.pids`` finds the
    # web root as the topmost process whose command line names the server's program.
    path = directory / "Procfile.web"
    path.write_text("\n".join(replaced) + "\n")
    return path


@dataclass
class LogLine:
    at: float | None  # time.monotonic() when honcho printed it; None when read back from a file
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
    """``honcho start`` on some of the Procfile's process types, in a session of its own.

    ``log``: None to collect the output line by line with the time each arrived (``lines``), or a
    file honcho writes to directly (read back on demand, without times). ``procfile``: another
    Procfile than the repository's (``procfile()``), run from the repository all the same.
    """

    def __init__(
        self, env: dict[str, str], *process_types: str, log: Path | None = None, procfile: Path | None = None
    ) -> None:
        self.log = log
        self._lines: list[LogLine] = []
        output = subprocess.PIPE if log is None else log.open("ab")
        self.process = subprocess.Popen(
            [str(BIN / "honcho"), "-f", str(procfile or REPO / "Procfile"), "-d", str(REPO), "start", *process_types],
            cwd=REPO,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            bufsize=1,
            start_new_session=True,
        )
        self._reader = None
        if log is None:
            self._reader = threading.Thread(target=self._read, daemon=True)
            self._reader.start()
        else:
            output.close()

    def _read(self) -> None:
        for raw in self.process.stdout:
            match = LOG_LINE.match(raw.rstrip("\n"))
            if match:
                self._lines.append(LogLine(time.monotonic(), match["process"], match["text"]))

    @property
    def lines(self) -> list[LogLine]:
        if self.log is None:
            return list(self._lines)
        if not self.log.exists():
            return []
        matches = (LOG_LINE.match(raw) for raw in self.log.read_text(errors="replace").splitlines())
        return [LogLine(None, match["process"], match["text"]) for match in matches if match]

    def records(self, process: str) -> list[tuple[float | None, dict]]:
        """``(time, record)`` for each JSON log record ``process`` (e.g. ``"worker.1"``) printed."""
        return [(line.at, line.record) for line in self.lines if line.process == process and line.record]

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

    def children(self) -> list[int]:
        """honcho's own children: one per process type (the Procfile's lines ``exec`` their program)."""
        return children(self.process.pid)

    def join_reader(self, timeout: float = 5) -> None:
        if self._reader is not None:
            self._reader.join(timeout=timeout)


def proc_stat(pid: int) -> list[str] | None:
    """/proc/<pid>/stat from the field after the command name: [state, ppid, ..., starttime at 19]."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2 :].split()


def children(pid: int) -> list[int]:
    """The pids whose parent is ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = proc_stat(int(entry.name))
            if stat and int(stat[1]) == pid:
                found.append(int(entry.name))
    return found


def cmdline(pid: int) -> str:
    """The command line of ``pid``, arguments separated by spaces ('' once it has gone)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def alive(pid: int, started: str) -> bool:
    stat = proc_stat(pid)
    return stat is not None and stat[19] == started and stat[0] != "Z"


def ready_checks(port: int) -> dict | None:
    """``/readyz``'s checks (``{"database": "ok", ...}``) when it answers 200; None otherwise.

    Sent as the platform's router sends it (``X-Forwarded-Proto: https``: TLS ends there).
    """
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/readyz", headers={"X-Forwarded-Proto": "https", "Accept": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.loads(response.read()).get("checks") if response.status == 200 else None
    except (OSError, ValueError):  # not listening yet, an error status, or not JSON
        return None


def wait_ready(stack: Honcho, port: int, timeout: float = READY_TIMEOUT, worker: str | None = "worker.1") -> None:
    """Until ``/readyz`` answers 200 with every check ok and (when ``worker`` is given) that worker
    says it consumes; RuntimeError with honcho's output's tail otherwise."""
    deadline = time.monotonic() + timeout
    ready = False
    worker_ready = worker is None
    while not (ready and worker_ready):
        if stack.process.poll() is not None:
            raise RuntimeError(f"honcho exited early:\n{stack.tail()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"not ready within {timeout}s:\n{stack.tail()}")
        if not ready:
            ready = ready_checks(port) == {"database": "ok", "cache": "ok", "broker": "ok"}
        if not worker_ready:
            worker_ready = any(
                record.get("logger") == "celery.apps.worker" and record.get("message", "").endswith(" ready.")
                for _, record in stack.records(worker)
            )
        time.sleep(0.05)


def stop(stack: Honcho) -> tuple[float, list[int]]:
    """SIGTERM to honcho, as the platform sends it; seconds until every process is gone, and the survivors."""
    processes = stack.descendants()
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


@dataclass
class Stack:
    """The Procfile's ``process_types`` under honcho, started at once, with ``env`` (``stack_environment``).

    ``log``: where honcho's output goes (None: kept in memory, see ``Honcho``). ``server``: one of
    ``WEB_SERVERS`` (the Procfile's own by default); ``workdir``: where a Procfile for another goes.
    """

    env: dict[str, str]
    process_types: tuple[str, ...] = ("web", "worker", "beat")
    log: Path | None = None
    server: str = "gunicorn-sync"
    workdir: Path | None = None
    honcho: Honcho = field(init=False)

    def __post_init__(self) -> None:
        workdir = self.workdir or (self.log.parent if self.log else Path(self.env.get("TMPDIR", "/tmp")))
        self.honcho = Honcho(self.env, *self.process_types, log=self.log, procfile=procfile(self.server, workdir))

    @property
    def port(self) -> int:
        return int(self.env["PORT"])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        wait_ready(self.honcho, self.port, timeout, worker="worker.1" if "worker" in self.process_types else None)

    def messages(self, process: str, logger: str | None = None) -> list[tuple[float | None, str]]:
        """``(time, message)`` of ``process``'s log records (only ``logger``'s when given)."""
        return [
            (at, record.get("message", ""))
            for at, record in self.honcho.records(process)
            if logger is None or record.get("logger") == logger
        ]

    def pids(self) -> dict[str, int]:
        """``{"honcho": pid, "web": pid, "worker": pid, "beat": pid}`` (the types started): the roots
        whose descendants make up each part of the stack (CPU accounting, the profiler's target).

        honcho runs each Procfile line in a process of its own, so a program is known by its command
        line: the topmost gunicorn (the arbiter) or granian, the topmost Celery worker and beat.
        """
        programs = {"web": (WEB_PROGRAM[self.server],), "worker": ("celery", " worker "), "beat": ("celery", " beat ")}
        found = {"honcho": self.honcho.process.pid}
        for pid in self.honcho.descendants():
            command = cmdline(pid)
            stat = proc_stat(pid)
            parent = cmdline(int(stat[1])) if stat else ""
            for name, words in programs.items():
                if all(word in command for word in words) and not all(word in parent for word in words):
                    found.setdefault(name, pid)
        return found

    def close(self) -> list[int]:
        """Stop everything (SIGTERM, as the platform does); SIGKILL whatever outlives the grace period.
        The pids that had to be killed."""
        if self.honcho.process.poll() is not None:
            survivors = list(self.honcho.descendants())
        else:
            _, survivors = stop(self.honcho)
        for pid in survivors:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.honcho.process.wait()
        self.honcho.join_reader()
        return survivors
