"""The Procfile, the container files and `make up`: what can be checked without a platform or a Docker engine.

The processes themselves are started and stopped by test_stack.py.
"""

import json
import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PROCESS_TYPES = ["release", "web", "worker", "beat", "flower"]


def procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    entries = dict(line.split(": ", 1) for line in lines if line.strip() and not line.startswith("#"))
    return entries


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker" / "compose.yml").read_text())


def test_procfile_declares_the_process_types():
    assert list(procfile()) == PROCESS_TYPES


def test_release_checks_the_deployment_before_migrating_and_stops_at_the_first_failure():
    release = procfile()["release"]

    assert release == "python manage.py check --deploy --fail-level WARNING && python manage.py migrate --noinput"


def test_web_is_gunicorn_with_its_config_file():
    assert procfile()["web"] == "exec gunicorn config.wsgi:application --config config/gunicorn.conf.py"


def test_long_running_processes_replace_the_shell_so_signals_reach_them():
    # Without `exec`, SIGTERM would end the shell honcho (or a container's sh -c) started, not the server.
    for name in ("web", "worker", "beat"):
        assert procfile()[name].startswith("exec "), name


def test_worker_consumes_both_queues_shuts_down_softly_and_recycles_its_children():
    args = shlex.split(procfile()["worker"])

    assert args[:4] == ["exec", "env", "REMAP_SIGTERM=SIGQUIT", "celery"]
    assert args[args.index("--queues") + 1] == "default,cache"
    assert args[args.index("--prefetch-multiplier") + 1] == "1"
    assert int(args[args.index("--max-tasks-per-child") + 1]) > 0
    assert int(args[args.index("--max-memory-per-child") + 1]) > 0
    # A node name of its own per process (the shell's pid, which exec hands to celery): two workers on
    # one host must not share one, or the second dies on RabbitMQ (its pidbox queue is exclusive).
    assert args[args.index("--hostname") + 1] == "worker.$$@%h"


def test_beat_keeps_its_schedule_in_a_writable_file():
    args = shlex.split(procfile()["beat"])

    assert args[1:4] == ["celery", "-A", "config.celery_app"]
    assert "beat" in args
    assert args[args.index("--schedule") + 1] == "${CELERY_BEAT_SCHEDULE_FILE:-/tmp/celerybeat-schedule}"


def test_gunicorn_config_binds_the_platform_port_and_takes_workers_from_web_concurrency():
    namespace: dict = {}
    env = {"PORT": "5123", "WEB_CONCURRENCY": "3"}
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        exec((ROOT / "config" / "gunicorn.conf.py").read_text(), namespace)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name)
            else:
                os.environ[name] = value

    assert namespace["bind"] == "0.0.0.0:5123"
    assert namespace["workers"] == 3
    assert namespace["graceful_timeout"] < 30
    assert namespace["timeout"] <= 30
    assert namespace["logconfig_dict"]["handlers"]["stdout"]["stream"] == "ext://sys.stdout"


# --- docker/compose.yml ---------------------------------------------------------------------


def test_compose_runs_each_process_type_with_its_procfile_command(compose):
    for name, command in procfile().items():
        service = compose["services"][name]
        # `$$` is compose's escape for a `$` left to the container's shell.
        assert [part.replace("$$", "$") for part in service["command"]] == ["sh", "-c", command], name


def test_compose_starts_the_app_once_the_release_succeeded_and_the_services_are_healthy(compose):
    services = compose["services"]
    assert set(services["release"]["depends_on"]) == {"postgres", "redis-cache", "redis-broker"}
    assert all(dep["condition"] == "service_healthy" for dep in services["release"]["depends_on"].values())
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"]["release"] == {"condition": "service_completed_successfully"}, name


def test_compose_gives_cache_and_broker_their_own_redis_with_the_right_eviction(compose):
    services = compose["services"]
    cache = services["redis-cache"]["command"]
    broker = services["redis-broker"]["command"]
    assert cache[cache.index("--maxmemory-policy") + 1] == "allkeys-lru"
    assert "--maxmemory" in cache
    assert broker[broker.index("--maxmemory-policy") + 1] == "noeviction"
    env = services["web"]["environment"]
    assert env["REDIS_URL"] == "redis://redis-cache:6379/0"
    assert env["CELERY_BROKER_URL"] == "redis://redis-broker:6379/0"


def test_compose_health_checks_and_a_single_beat(compose):
    services = compose["services"]
    for name in ("postgres", "redis-cache", "redis-broker", "web", "worker"):
        assert services[name]["healthcheck"]["test"], name
    assert services["web"]["healthcheck"]["test"] == ["CMD", "python", "docker/healthcheck.py"]
    assert services["beat"]["deploy"]["replicas"] == 1
    for name in PROCESS_TYPES:
        assert services[name]["environment"]["DJANGO_SETTINGS_MODULE"] == "config.settings.production", name
        assert services[name]["stop_grace_period"] == "30s", name


# --- docker/Dockerfile ----------------------------------------------------------------------


def dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) pairs, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / "docker" / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [tuple(line.split(None, 1)) for line in lines]


def test_dockerfile_builds_a_slim_image_from_pinned_requirements():
    steps = dockerfile()

    assert steps[0] == ("FROM", "python:3.11-slim")
    assert ("RUN", "pip install --require-hashes -r requirements/lock/production.txt") in steps


def test_dockerfile_collects_static_files_at_build_and_runs_as_a_non_root_user():
    steps = dockerfile()
    instructions = [instruction for instruction, _ in steps]
    collect = next(i for i, (instruction, args) in enumerate(steps) if "collectstatic" in args)
    user = instructions.index("USER")

    assert "DJANGO_SECRET_KEY=" in steps[collect][1]
    assert collect < user
    assert steps[user][1] not in ("root", "0")


def test_dockerfile_runs_the_procfile_web_command_by_default():
    cmd = dict(dockerfile())["CMD"]

    assert json.loads(cmd) == ["sh", "-c", procfile()["web"]]


# --- make up --------------------------------------------------------------------------------


@pytest.mark.parametrize(("missing", "present"), [("DATABASE_URL", "REDIS_URL"), ("REDIS_URL", "DATABASE_URL")])
def test_make_up_refuses_to_start_without_postgres_and_redis(missing, present):
    env = {name: value for name, value in os.environ.items() if name not in ("DATABASE_URL", "REDIS_URL")}
    env[present] = "set"

    result = subprocess.run(
        ["make", "--no-print-directory", "up"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=30
    )

    assert result.returncode != 0
    assert f"make up needs {missing}" in result.stderr


# --- the platform's build ------------------------------------------------------------------


def test_the_buildpack_installs_the_production_requirements_with_their_pins_on_python_3_11():
    lines = [line for line in (ROOT / "requirements.txt").read_text().splitlines() if not line.startswith("#")]

    assert lines == ["--require-hashes", "-r requirements/lock/production.txt"]
    assert (ROOT / ".python-version").read_text().strip() == "3.11"
    assert dockerfile()[0] == ("FROM", "python:3.11-slim")
