"""What the reliability tests run against: the Procfile's processes on databases of their own.

- PostgreSQL: the server of DATABASE_URL. One template database (``paeshift_rel_tpl_<random>``)
  is migrated and seeded once per run (``tests/reliability/seed.py``); each test gets a fresh copy
  (``paeshift_rel_<random>``), dropped afterwards. The PostgreSQL restart test runs a private
  server instead (``tests/reliability/postgres_server.py``).
- Redis: private redis-servers on free ports (``tests/redis_server.py``), one for the cache and
  one for the broker, so a test can stop or pause either without touching the machine's Redis.
  REDIS_URL only says that the run has Redis (it is never written to).

Skipped without DATABASE_URL and REDIS_URL; failed when they are given and do not answer, or when
redis-server is not installed. Each test writes what it saw to ``test-artifacts/reliability/``;
``python -m tests.reliability.report`` renders docs/reliability.md from those files.
"""

import json
import os
import re
import secrets
import shutil
import sys
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from bench.stack import admin_connection, create_database, drop_database, free_port, stack_environment, with_path
from tests.redis_server import RedisServer
from tests.stack import ROOT, Stack, run, service_urls

ARTIFACTS = ROOT / "test-artifacts" / "reliability"


@dataclass
class Seed:
    """The seeded rows (tests/reliability/seed.py), with each user's API token."""

    data: dict

    def token(self, user_id: int) -> str:
        return self.data["tokens"][str(user_id)]

    def __getattr__(self, name: str):
        try:
            return self.data[name]
        except KeyError:
            raise AttributeError(name) from None


@dataclass
class Template:
    name: str
    seed: Seed


@pytest.fixture(scope="session")
def rel_server_url() -> str:
    """The PostgreSQL server of DATABASE_URL; fails (no skip) when it is given and does not answer."""
    database_url, _ = service_urls()
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed: the reliability tests run private Redis servers")
    with admin_connection(database_url) as connection:
        connection.execute("SELECT 1")
    return database_url


@pytest.fixture(scope="session")
def rel_template(rel_server_url, tmp_path_factory):
    """A migrated and seeded database that each test copies (CREATE DATABASE ... TEMPLATE)."""
    name = f"paeshift_rel_tpl_{secrets.token_hex(4)}"
    create_database(rel_server_url, name)
    redis_server = RedisServer()  # the seed's writes invalidate hot keys: somewhere to send them
    redis_server.start()
    try:
        workdir = tmp_path_factory.mktemp("rel-template")
        env = stack_environment(with_path(rel_server_url, f"/{name}"), redis_server.url, free_port(), workdir)
        migrated = run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], env)
        assert migrated.returncode == 0, migrated.stdout + migrated.stderr
        seeded = run([sys.executable, "-m", "tests.reliability.seed"], env)
        assert seeded.returncode == 0, seeded.stdout + seeded.stderr
        template = Template(name, Seed(json.loads(seeded.stdout.strip().splitlines()[-1])))
    finally:
        redis_server.close()
    try:
        yield template
    finally:
        drop_database(rel_server_url, name)


def copy_template(server_url: str, template: Template) -> str:
    """A fresh copy of the seeded template database; its name."""
    name = f"paeshift_rel_{secrets.token_hex(4)}"
    create_database(server_url, name, template=template.name)
    return name


@pytest.fixture
def seed(rel_template) -> Seed:
    return rel_template.seed


@pytest.fixture
def database_url(rel_server_url, rel_template):
    """A fresh copy of the seeded template database, dropped afterwards."""
    name = copy_template(rel_server_url, rel_template)
    try:
        yield with_path(rel_server_url, f"/{name}")
    finally:
        drop_database(rel_server_url, name)


@pytest.fixture
def redis_servers():
    """``redis_servers()``: a new private redis-server, started; all closed afterwards."""
    started: list[RedisServer] = []

    def start() -> RedisServer:
        server = RedisServer()
        started.append(server)
        server.start()
        return server

    yield start
    for server in started:
        server.close()


@pytest.fixture
def launch(tmp_path):
    """``launch(database_url, cache_url, *process_types, **env)``: a ready stack, closed afterwards."""
    stacks: list[Stack] = []

    def start(database_url: str, cache_url: str, *process_types: str, **extra: str) -> Stack:
        workdir = tmp_path / f"stack{len(stacks)}"
        workdir.mkdir()
        env = stack_environment(database_url, cache_url, free_port(), workdir, **extra)
        stack = Stack(env, process_types or ("web", "worker", "beat"))
        stacks.append(stack)
        stack.wait_ready()
        return stack

    yield start
    for stack in stacks:
        stack.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.reliability_outcome = report.outcome
    return report


@pytest.fixture
def figures(request):
    """A dict the test fills with what it saw; written to test-artifacts/reliability/<test>.json."""
    data: dict = {}
    yield data
    if not data:
        return
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name).strip("_")
    document = {
        "test": request.node.nodeid,
        "outcome": getattr(request.node, "reliability_outcome", "error"),
        "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "load_avg_1m": round(os.getloadavg()[0], 2)},
        **data,
    }
    (ARTIFACTS / f"{name}.json").write_text(json.dumps(document, indent=2, sort_keys=False, default=str) + "\n")
