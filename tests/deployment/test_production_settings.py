"""Production settings, loaded the way the platform loads them: in a fresh process, from the environment."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REQUIRED = ("DJANGO_SECRET_KEY", "DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "DJANGO_ALLOWED_HOSTS")


def production_env(**overrides: str | None) -> dict[str, str]:
    """A platform's environment: nothing of the test run's own configuration, fake service URLs."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DJANGO_", "CELERY_", "SILK_", "REDIS_")) and name != "DATABASE_URL"
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DATABASE_URL="postgres://paeshift:secret@db.internal:5432/paeshift",
        REDIS_URL="redis://cache.internal:6379/0",
        CELERY_BROKER_URL="amqp://paeshift:secret@broker.internal:5672/paeshift",
        DJANGO_ALLOWED_HOSTS="api.paeshift.example",
    )
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )


def django(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return run(["-c", f"import django; django.setup()\n{code}"], env)


def test_check_deploy_is_clean():
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], production_env())

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_fails_the_release_when_https_redirect_is_off():
    result = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        production_env(DJANGO_SECURE_SSL_REDIRECT="false"),
    )

    assert result.returncode != 0
    assert "security.W008" in result.stderr


def test_check_deploy_fails_the_release_when_the_broker_is_on_the_cache_server():
    # Neither host resolves: the URLs alone say it is one server (eviction is per server).
    result = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        production_env(CELERY_BROKER_URL="redis://cache.internal:6379/1"),
    )

    assert result.returncode != 0
    assert "ops.W002" in result.stderr


@pytest.mark.parametrize("name", REQUIRED)
def test_each_required_variable_missing_stops_start_up_with_its_name(name):
    result = django("", production_env(**{name: None}))

    assert result.returncode != 0
    assert f"ImproperlyConfigured: {name} must be set in production" in result.stderr


def test_settings_read_from_the_environment():
    code = """
from django.conf import settings as s
import json
db = s.DATABASES["default"]
print(json.dumps({
    "debug": s.DEBUG, "hosts": s.ALLOWED_HOSTS, "origins": s.CSRF_TRUSTED_ORIGINS,
    "engine": db["ENGINE"], "max_age": db["CONN_MAX_AGE"], "health": db["CONN_HEALTH_CHECKS"],
    "connect_timeout": db["OPTIONS"]["connect_timeout"],
    "cache": s.CACHES["default"]["LOCATION"], "broker": s.CELERY_BROKER_URL, "eager": s.CELERY_TASK_ALWAYS_EAGER,
    "soft_shutdown": s.CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT, "proxy": list(s.SECURE_PROXY_SSL_HEADER),
    "static": s.STORAGES["staticfiles"]["BACKEND"], "whitenoise": s.MIDDLEWARE[1],
    "num_proxies": s.REST_FRAMEWORK["NUM_PROXIES"],
}))
"""
    result = django(code, production_env(DJANGO_CSRF_TRUSTED_ORIGINS="https://admin.paeshift.example"))

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "debug": False,
        "hosts": ["api.paeshift.example"],
        "origins": ["https://admin.paeshift.example"],
        "engine": "django.db.backends.postgresql",
        "max_age": 60,
        "health": True,
        "connect_timeout": 5,
        "cache": "redis://cache.internal:6379/0",
        # The broker: as given (required), never defaulted onto the cache's server.
        "broker": "amqp://paeshift:secret@broker.internal:5672/paeshift",
        "eager": False,
        # Below the platform's 30 s between SIGTERM and SIGKILL.
        "soft_shutdown": 20.0,
        "proxy": ["HTTP_X_FORWARDED_PROTO", "https"],
        "static": "whitenoise.storage.CompressedManifestStaticFilesStorage",
        "whitenoise": "whitenoise.middleware.WhiteNoiseMiddleware",
        # One proxy, the platform's router, appends the client's address to X-Forwarded-For.
        "num_proxies": 1,
    }


def test_the_broker_can_live_elsewhere():
    result = django(
        "from django.conf import settings; print(settings.CELERY_BROKER_URL)",
        production_env(CELERY_BROKER_URL="redis://broker.internal:6379/0"),
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "redis://broker.internal:6379/0"


def test_logs_are_one_json_object_per_line_on_stdout():
    code = """
import logging
logging.getLogger("workers.cache").info("hot cache rebuilt %s:%s", "profile:user", 7, extra={"key_id": 7})
logging.getLogger("backend.caching.breaker").warning("cache circuit redis opened: %s", "timeout")
logging.getLogger("celery.app.trace").info("Task workers.cache.rebuild_hot_key[1] succeeded in 0.01s: True")
"""
    result = django(code, production_env())

    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["level"], r["logger"], r["message"]) for r in records] == [
        ("INFO", "workers.cache", "hot cache rebuilt profile:user:7"),
        ("WARNING", "backend.caching.breaker", "cache circuit redis opened: timeout"),
        ("INFO", "celery.app.trace", "Task workers.cache.rebuild_hot_key[1] succeeded in 0.01s: True"),
    ]
    assert records[0]["key_id"] == 7
    assert all(r["time"].endswith("+00:00") and isinstance(r["pid"], int) for r in records)


def test_https_is_required_except_for_the_health_probes():
    # Over plain HTTP without the router's header, as the platform's own probes arrive.
    code = """
from django.test import Client
plain = Client(HTTP_HOST="api.paeshift.example")
routed = Client(HTTP_HOST="api.paeshift.example", HTTP_X_FORWARDED_PROTO="https")
r = plain.get("/healthz"); print(r.status_code, r.content.decode())
r = plain.get("/api/v1/jobs/"); print(r.status_code, r["Location"])
r = routed.get("/healthz"); print(r.status_code, r["Strict-Transport-Security"])
r = Client(HTTP_HOST="evil.example").get("/healthz"); print(r.status_code)
"""
    result = django(code, production_env())

    assert result.returncode == 0, result.stderr
    printed = [line for line in result.stdout.splitlines() if not line.startswith("{")]  # not the log records
    assert printed == [
        '200 {"status":"ok"}',
        "301 https://api.paeshift.example/api/v1/jobs/",
        "200 max-age=60; includeSubDomains",
        "400",
    ]


def test_hsts_preload_is_opt_in_and_needs_a_year():
    refused = django("", production_env(DJANGO_SECURE_HSTS_PRELOAD="true"))
    year = production_env(DJANGO_SECURE_HSTS_PRELOAD="true", DJANGO_SECURE_HSTS_SECONDS="31536000")
    checked = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], year)
    header = django(
        'from django.test import Client\nr = Client(HTTP_HOST="api.paeshift.example", HTTP_X_FORWARDED_PROTO="https")'
        '.get("/healthz")\nprint(r["Strict-Transport-Security"])',
        year,
    )

    assert refused.returncode != 0
    assert "DJANGO_SECURE_HSTS_PRELOAD needs DJANGO_SECURE_HSTS_SECONDS of at least 31536000" in refused.stderr
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert header.stdout.splitlines()[-1] == "max-age=31536000; includeSubDomains; preload"


def test_production_serves_json_only_never_the_browsable_api():
    code = """
from django.test import Client
c = Client(HTTP_HOST="api.paeshift.example", HTTP_X_FORWARDED_PROTO="https")
for accept, query in [("text/html", ""), ("text/html,application/xhtml+xml,*/*;q=0.8", ""), ("*/*", "?format=api")]:
    r = c.get("/api/v1/me/profile/" + query, HTTP_ACCEPT=accept)
    print(r.status_code, r["Content-Type"])
"""
    result = django(code, production_env())

    assert result.returncode == 0, result.stderr
    printed = [line for line in result.stdout.splitlines() if not line.startswith("{")]
    assert printed == ["406 application/json", "401 application/json", "404 application/json"]


SCHEMA_PATHS = """
import json
from django.apps import apps
from django.urls import get_resolver
from drf_spectacular.generators import SchemaGenerator

def routes(patterns, prefix=""):
    for pattern in patterns:
        if hasattr(pattern, "url_patterns"):
            yield from routes(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern)

schema = SchemaGenerator().get_schema(request=None, public=True)
print(json.dumps({
    "apps": [config.name for config in apps.get_app_configs()],
    "routes": list(routes(get_resolver().url_patterns)),
    "schema_paths": list(schema["paths"]),
}))
"""


def served(settings_module: str) -> dict:
    """What ``settings_module`` installs and serves: app names, URL routes, the schema's paths."""
    result = django(SCHEMA_PATHS, production_env(DJANGO_SETTINGS_MODULE=settings_module))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_installs_and_serves_no_benchmark_tooling():
    production = served("config.settings.production")

    assert not [name for name in production["apps"] if "bench" in name or "perf" in name], production["apps"]
    assert not [route for route in production["routes"] if "floor" in route], production["routes"]
    assert not [path for path in production["schema_paths"] if "floor" in path], production["schema_paths"]
    assert "/api/v1/jobs/" in production["schema_paths"]  # the schema is the real one


def test_benchmark_settings_are_production_plus_the_floor():
    production, bench = served("config.settings.production"), served("config.settings.bench")

    assert bench["apps"] == [*production["apps"], "bench"]
    assert "/api/v1/ops/floor/" in bench["schema_paths"]
    assert set(bench["schema_paths"]) - set(production["schema_paths"]) == {"/api/v1/ops/floor/"}


@pytest.mark.parametrize(
    ("broker_url", "expected"),
    [
        # RabbitMQ: publisher confirms and socket timeouts; the Redis transport's options mean nothing there.
        (
            "amqp://paeshift:secret@broker.internal:5672/paeshift",
            {"confirm_publish": True, "read_timeout": 1, "write_timeout": 1},
        ),
        (
            "redis://broker.internal:6379/0",
            {
                "socket_timeout": 1,
                "socket_connect_timeout": 1,
                "visibility_timeout": 120,
                "unacked_restore_throttle": 1,
                "retry_on_timeout": False,  # fail fast (backend/common/redis_client.py)
            },
        ),
    ],
)
def test_the_broker_s_transport_options_are_those_of_its_transport(broker_url, expected):
    code = (
        "from config.celery_app import app; import json; "
        "print(json.dumps([app.conf.broker_transport_options, app.conf.task_default_delivery_mode,"
        " app.conf.task_acks_late, app.conf.task_reject_on_worker_lost, app.conf.worker_prefetch_multiplier]))"
    )
    result = django(code, production_env(CELERY_BROKER_URL=broker_url))

    assert result.returncode == 0, result.stderr
    options, delivery_mode, acks_late, reject_on_worker_lost, prefetch = json.loads(result.stdout.splitlines()[-1])
    assert options == expected
    assert (delivery_mode, acks_late, reject_on_worker_lost, prefetch) == ("persistent", True, True, 1)


# A configuration that cannot work stops start-up (and so the release) with what to change, never a
# traceback from inside a library or a 500 on every request later.
MISCONFIGURED = {
    "cluster with a database number": (
        {"REDIS_CLUSTER": "true", "REDIS_URL": "redis://cache.internal:6379/4"},
        "REDIS_CLUSTER=true: a Redis Cluster has database 0 only",
    ),
    "cluster without REDIS_URL": ({"REDIS_CLUSTER": "true", "REDIS_URL": None}, "REDIS_CLUSTER=true needs REDIS_URL"),
    "replica URL that is not a URL": ({"DATABASE_REPLICA_URL": "garbage"}, "DATABASE_REPLICA_URL needs PostgreSQL"),
    "replica URL without a database": (
        {"DATABASE_REPLICA_URL": "postgres://"},
        "DATABASE_REPLICA_URL names no database",
    ),
    "request id header with an underscore": ({"REQUEST_ID_HEADER": "X_Request_ID"}, "REQUEST_ID_HEADER must be"),
    "request id header with a space": ({"REQUEST_ID_HEADER": "X Request ID"}, "REQUEST_ID_HEADER must be"),
    "empty request id header": ({"REQUEST_ID_HEADER": ""}, "REQUEST_ID_HEADER must be"),
    "socket REDIS_URL and no broker": (
        {
            "REDIS_URL": "unix:///run/redis.sock",
            "CELERY_BROKER_URL": None,
            "DJANGO_SETTINGS_MODULE": "config.settings.local",
        },
        "REDIS_URL 'unix:///run/redis.sock' has no database number to put the broker beside",
    ),
}


@pytest.mark.parametrize(("overrides", "message"), list(MISCONFIGURED.values()), ids=list(MISCONFIGURED))
def test_a_configuration_that_cannot_work_stops_start_up_saying_what_to_change(overrides, message):
    result = run(["manage.py", "check"], production_env(**overrides))

    assert result.returncode != 0
    assert f"ImproperlyConfigured: {message}" in result.stderr, result.stderr[-2000:]


def test_a_socket_redis_url_with_its_own_broker_starts():
    result = run(["manage.py", "check"], production_env(REDIS_URL="unix:///run/redis.sock"))

    assert result.returncode == 0, result.stderr[-2000:]
