"""``make test``'s runner: every test, in two lanes at once when PostgreSQL and Redis are configured.

    python -m tests.lanes [pytest options and paths...]     (the silk pass: PYTEST_SILK_ARGS)

The suite has two kinds of test. Most run in the pytest process (the test client, one core). The
others start real processes (the Procfile's stack under honcho, private redis-servers, a Redis
Cluster, a PostgreSQL replica, Chromium: markers ``reliability``, ``e2e``, ``scale`` and ``browser``)
and spend most of their time waiting for them. Run one after the other they take the sum of both;
run side by side on the two cores of a CI machine, about the longer of the two (``.ci/run`` must stay
under 45 minutes). So, with ``DATABASE_URL`` naming PostgreSQL and ``REDIS_URL`` set:

- the **process lane** runs ``-m "reliability or e2e or scale or browser"`` with its own services:
  the PostgreSQL database ``<name>_lane`` beside ``DATABASE_URL``'s (created if missing; pytest-django
  makes ``test_<name>_lane`` from it) and Redis databases N+2 (cache) and N+3 (broker) of
  ``REDIS_URL``'s server, where N is ``REDIS_URL``'s database;
- the **in-process lane** runs the rest with ``DATABASE_URL`` and ``REDIS_URL`` as given (Redis N and
  N+1), then the silk pass (``config.settings.test_silk``: the schema fuzzing and silk's own tests).

Each lane's output is printed as it comes, every line prefixed with the lane's name; the exit status is
the first non-zero one (pytest's), else 0. Without PostgreSQL and Redis (the embedded defaults) the
process tests skip, so both passes simply run one after the other, as they do with ``TEST_LANES=1``.

Written here rather than with pytest-xdist: xdist's workers share one environment, while the process
tests hand ``DATABASE_URL`` and ``REDIS_URL`` to the processes they start, so each lane needs its own.
"""

import os
import shlex
import subprocess
import sys
import threading
from urllib.parse import urlsplit, urlunsplit

import psycopg
import psycopg.sql

PROCESS_MARKERS = "reliability or e2e or scale or browser"
SILK_SETTINGS = "config.settings.test_silk"
SILK_TESTS = ("tests/security/test_schema_fuzz.py", "tests/security/test_silk_recording.py")
LANE_SUFFIX = "_lane"
REDIS_OFFSET = 2  # the process lane's cache database is N+2 and its broker N+3
REDIS_DATABASES = 16  # redis-server's default `databases`
NO_TESTS_COLLECTED = 5  # pytest.ExitCode.NO_TESTS_COLLECTED


def pytest_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "pytest", *args]


def silk_pass(environ: dict[str, str]) -> list[str]:
    """The second pass: the tests that must also hold with silk recording every request, with the
    options of ``PYTEST_SILK_ARGS`` (``make test PYTEST_SILK_ARGS=-x``)."""
    return pytest_command(f"--ds={SILK_SETTINGS}", *SILK_TESTS, *shlex.split(environ.get("PYTEST_SILK_ARGS", "")))


def with_path(url: str, path: str) -> str:
    """``url`` with its path replaced. (``bench.stack`` has the same; importing it imports the Celery app,
    which sets ``DJANGO_SETTINGS_MODULE`` in this process's environment, and the lanes' pytest would
    inherit the local settings instead of pyproject's test settings.)"""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, parts.fragment))


def process_lane_environment(environ: dict[str, str]) -> dict[str, str]:
    """``environ`` with the process lane's ``DATABASE_URL`` and ``REDIS_URL``.

    Raises ``SystemExit`` when ``REDIS_URL``'s database leaves no room for N+3 on a default server."""
    database_url, redis_url = environ["DATABASE_URL"], environ["REDIS_URL"]
    name = urlsplit(database_url).path.strip("/") or "postgres"
    redis_db = int(urlsplit(redis_url).path.strip("/") or 0)
    if redis_db + REDIS_OFFSET + 1 >= REDIS_DATABASES:
        raise SystemExit(
            f"make test: REDIS_URL's database {redis_db} leaves no room for the process lane's databases "
            f"{redis_db + REDIS_OFFSET} and {redis_db + REDIS_OFFSET + 1}: use a database number below "
            f"{REDIS_DATABASES - REDIS_OFFSET - 1}, or TEST_LANES=1"
        )
    return {
        **environ,
        "DATABASE_URL": with_path(database_url, f"/{name}{LANE_SUFFIX}"),
        "REDIS_URL": with_path(redis_url, f"/{redis_db + REDIS_OFFSET}"),
    }


def ensure_database(database_url: str) -> None:
    """Create ``database_url``'s database if it does not exist (never drops anything)."""
    name = urlsplit(database_url).path.strip("/")
    with psycopg.connect(with_path(database_url, "/postgres"), autocommit=True, connect_timeout=5) as connection:
        if connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            connection.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(name)))


def run_lane(name: str, commands: list[list[str]], env: dict[str, str], results: dict[str, int]) -> None:
    """Run ``commands`` one after the other (all of them, even after a failure), printing their output
    line by line with ``[name]`` in front; record the first non-zero status in ``results[name]``."""
    status = 0
    for command in commands:
        print(f"[{name}] $ {' '.join(command[1:])}", flush=True)
        with subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace", bufsize=1
        ) as process:
            for line in process.stdout:
                print(f"[{name}] {line}", end="", flush=True)
        status = status or process.returncode
    results[name] = status


def main(argv: list[str]) -> int:
    extra = list(argv)
    environ = dict(os.environ)
    in_process = [pytest_command(*extra), silk_pass(environ)]
    services = environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")) and environ.get("REDIS_URL")
    chooses_markers = any(arg == "-m" or (arg.startswith("-m") and not arg.startswith("--")) for arg in extra)
    if not services or environ.get("TEST_LANES") == "1" or chooses_markers:
        # One lane: without the services the process tests skip; with TEST_LANES=1 asked for; with the
        # caller's own -m, which would replace a lane's marker expression (pytest keeps the last -m).
        results: dict[str, int] = {}
        run_lane("tests", in_process, environ, results)
        return results["tests"]

    lane_env = process_lane_environment(environ)
    ensure_database(lane_env["DATABASE_URL"])
    results = {}
    lanes = [
        threading.Thread(
            target=run_lane,
            args=("processes", [pytest_command("-m", PROCESS_MARKERS, *extra)], lane_env, results),
        ),
        threading.Thread(
            target=run_lane,
            args=(
                "in-process",
                [pytest_command("-m", f"not ({PROCESS_MARKERS})", *extra), silk_pass(environ)],
                environ,
                results,
            ),
        ),
    ]
    for lane in lanes:
        lane.start()
    for lane in lanes:
        lane.join()
    statuses = {lane: results.get(lane, 1) for lane in ("processes", "in-process")}  # a dead lane failed
    print(f"make test: {', '.join(f'{lane} exited {status}' for lane, status in statuses.items())}", flush=True)
    return combined_status(list(statuses.values()))


def combined_status(statuses: list[int]) -> int:
    """The run's exit status from its lanes': the first failure, else 0. pytest's 5 ("no test
    selected") is not a failure when another lane ran tests (paths or ``-k`` in ``PYTEST_ARGS`` may
    select nothing in one lane); it is the answer when no lane selected anything."""
    if all(status == NO_TESTS_COLLECTED for status in statuses):
        return NO_TESTS_COLLECTED
    return next((status for status in statuses if status not in (0, NO_TESTS_COLLECTED)), 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
