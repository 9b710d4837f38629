"""Developer profiling tools: where silk and the debug toolbar are installed, and whom they serve.

Settings modules other than the test settings are loaded in a fresh interpreter (a settings module
can only be loaded once per process), with a fake environment, and report what they configured.
"""

import functools
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory, override_settings

from backend.observability.profiling import SILK_PROFILE_HEADER, show_debug_toolbar, silk_should_record
from tests.factories import make_user

ROOT = Path(__file__).resolve().parents[2]

# Service URLs point at closed loopback ports: loading settings and URLs connects to nothing.
PRODUCTION_ENV = {
    "DJANGO_SECRET_KEY": "x" * 64,
    "DJANGO_ALLOWED_HOSTS": "api.example.com",
    "DATABASE_URL": "postgres://paeshift:secret@127.0.0.1:9/paeshift",
    "REDIS_URL": "redis://127.0.0.1:9/0",
    "CELERY_BROKER_URL": "amqp://guest:guest@127.0.0.1:9//",
}

REPORT = """
import json, sys
import django
django.setup()
from django.conf import settings
from django.urls import Resolver404, resolve

def resolves(path):
    try:
        resolve(path)
        return True
    except Resolver404:
        return False

silk = "silk" in settings.INSTALLED_APPS
print(json.dumps({
    "installed_apps": list(settings.INSTALLED_APPS),
    "middleware": list(settings.MIDDLEWARE),
    "silk_url": resolves("/silk/"),
    "debug_toolbar_url": resolves("/__debug__/render_panel/"),
    "debug_toolbar_imported": any(m == "debug_toolbar" or m.startswith("debug_toolbar.") for m in sys.modules),
    "silk_tables": sorted(
        m._meta.db_table for m in django.apps.apps.get_app_config("silk").get_models(include_auto_created=True)
    ) if silk else [],
    "cachalot_uncachable": sorted(settings.CACHALOT_UNCACHABLE_TABLES),
    "silk": {
        name: getattr(settings, name, None)
        for name in (
            "SILKY_AUTHENTICATION", "SILKY_AUTHORISATION", "SILKY_MAX_RECORDED_REQUESTS",
            "SILKY_MAX_RECORDED_REQUESTS_CHECK_PERCENT", "SILKY_MAX_REQUEST_BODY_SIZE",
            "SILKY_MAX_RESPONSE_BODY_SIZE", "SILKY_PYTHON_PROFILER", "SILKY_ANALYZE_QUERIES",
            "SILK_SAMPLE_PERCENT", "SERVER_TIMING_ENABLED", "LOGIN_URL",
        )
    },
    "intercept_func": getattr(settings.SILKY_INTERCEPT_FUNC, "__qualname__", None),
    "permits_staff": settings.SILKY_PERMISSIONS(type("U", (), {"is_staff": True})()),
    "permits_non_staff": settings.SILKY_PERMISSIONS(type("U", (), {"is_staff": False})()),
}))
"""


def load_settings(module: str, **env: str) -> dict:
    """What ``module`` configures, loaded in a fresh interpreter with ``env`` on a clean environment."""
    return _load(module, tuple(sorted(env.items())))


@functools.cache
def _load(module: str, env: tuple[tuple[str, str], ...]) -> dict:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SILK", "DEBUG_TOOLBAR"))}
    clean.pop("DATABASE_URL", None)
    clean.pop("REDIS_URL", None)
    clean.update(dict(env), DJANGO_SETTINGS_MODULE=module)
    result = subprocess.run(
        [sys.executable, "-c", REPORT], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60
    )
    if result.returncode != 0:
        raise AssertionError(result.stderr)
    return json.loads(result.stdout.strip().splitlines()[-1])


# --- production ----------------------------------------------------------------------------------


def test_production_never_installs_or_imports_the_debug_toolbar():
    for env in ({}, {"SILK_ENABLED": "true", "DEBUG_TOOLBAR_ENABLED": "true"}):
        loaded = load_settings("config.settings.production", **PRODUCTION_ENV, **env)

        assert "debug_toolbar" not in loaded["installed_apps"]
        assert not any("debug_toolbar" in m for m in loaded["middleware"])
        assert loaded["debug_toolbar_url"] is False
        assert loaded["debug_toolbar_imported"] is False


def test_production_leaves_silk_off_unless_enabled():
    loaded = load_settings("config.settings.production", **PRODUCTION_ENV)

    assert "silk" not in loaded["installed_apps"]
    assert not any(m.startswith("silk.") for m in loaded["middleware"])
    assert loaded["silk_url"] is False
    assert loaded["silk"]["SERVER_TIMING_ENABLED"] is False


def test_production_with_silk_enabled_samples_caps_bodies_and_serves_staff_only():
    loaded = load_settings("config.settings.production", **PRODUCTION_ENV, SILK_ENABLED="true")

    assert "silk" in loaded["installed_apps"]
    assert loaded["silk_url"] is True
    # silk right outside Server-Timing, which stays innermost (it does not measure silk's writes)
    assert loaded["middleware"][-2:] == [
        "backend.observability.silk_recording.SilkRecordingMiddleware",
        "backend.observability.server_timing.ServerTimingMiddleware",
    ]
    assert loaded["intercept_func"] == "silk_should_record"
    assert loaded["silk"] == {
        "SILKY_AUTHENTICATION": True,
        "SILKY_AUTHORISATION": True,
        "SILKY_MAX_RECORDED_REQUESTS": 10_000,
        "SILKY_MAX_RECORDED_REQUESTS_CHECK_PERCENT": 0,
        "SILKY_MAX_REQUEST_BODY_SIZE": 16 * 1024,
        "SILKY_MAX_RESPONSE_BODY_SIZE": 64 * 1024,
        "SILKY_PYTHON_PROFILER": False,
        "SILKY_ANALYZE_QUERIES": False,
        "SILK_SAMPLE_PERCENT": 1.0,
        "SERVER_TIMING_ENABLED": False,
        "LOGIN_URL": "admin:login",
    }
    assert loaded["permits_staff"] is True
    assert loaded["permits_non_staff"] is False


def test_production_silk_sampling_and_caps_come_from_the_environment():
    loaded = load_settings(
        "config.settings.production",
        **PRODUCTION_ENV,
        SILK_ENABLED="true",
        SILK_SAMPLE_PERCENT="0.5",
        SILKY_MAX_RESPONSE_BODY_SIZE="1024",
    )

    assert loaded["silk"]["SILK_SAMPLE_PERCENT"] == 0.5
    assert loaded["silk"]["SILKY_MAX_RESPONSE_BODY_SIZE"] == 1024


def test_production_refuses_a_short_silk_profile_secret():
    with pytest.raises(AssertionError, match="SILK_PROFILE_SECRET must be at least 32 characters"):
        load_settings("config.settings.production", **PRODUCTION_ENV, SILK_ENABLED="true", SILK_PROFILE_SECRET="abc")


# --- local and test -------------------------------------------------------------------------------


def test_local_installs_silk_and_the_toolbar_in_the_right_places():
    loaded = load_settings("config.settings.local")

    assert {"silk", "debug_toolbar"} <= set(loaded["installed_apps"])
    assert loaded["silk_url"] is True
    assert loaded["debug_toolbar_url"] is True
    middleware = loaded["middleware"]
    # the toolbar's callback reads request.user: after authentication
    auth = middleware.index("django.contrib.auth.middleware.AuthenticationMiddleware")
    assert middleware[auth + 1] == "debug_toolbar.middleware.DebugToolbarMiddleware"
    assert middleware[-2:] == [
        "backend.observability.silk_recording.SilkRecordingMiddleware",
        "backend.observability.server_timing.ServerTimingMiddleware",
    ]
    assert loaded["silk"]["SILK_SAMPLE_PERCENT"] == 100.0  # every request
    assert loaded["silk"]["SILKY_PYTHON_PROFILER"] is False  # available, off by default
    assert loaded["silk"]["SERVER_TIMING_ENABLED"] is True


def test_local_can_switch_each_tool_off():
    loaded = load_settings("config.settings.local", SILK_ENABLED="false", DEBUG_TOOLBAR_ENABLED="false")

    assert "silk" not in loaded["installed_apps"]
    assert "debug_toolbar" not in loaded["installed_apps"]
    assert loaded["silk_url"] is False
    assert loaded["debug_toolbar_url"] is False


def test_cachalot_never_caches_silks_tables():
    loaded = load_settings("config.settings.local")

    assert loaded["silk_tables"]  # silk's real table names, read from its models
    assert set(loaded["silk_tables"]) <= set(loaded["cachalot_uncachable"])


def test_tests_run_without_silk_or_the_toolbar():
    assert "silk" not in settings.INSTALLED_APPS
    assert "debug_toolbar" not in settings.INSTALLED_APPS
    assert not any(m.startswith(("silk.", "debug_toolbar.")) for m in settings.MIDDLEWARE)
    assert "silk" not in sys.modules


# --- which requests silk records -------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/static/admin/css/base.css", "/silk/", "/__debug__/x/"])
@override_settings(SILK_SAMPLE_PERCENT=100.0, SILK_PROFILE_SECRET="s" * 40)
def test_silk_never_records_probes_static_files_or_the_tools_themselves(path):
    request = RequestFactory().get(path, headers={SILK_PROFILE_HEADER: "s" * 40})

    assert silk_should_record(request) is False


@override_settings(SILK_SAMPLE_PERCENT=100.0)
def test_silk_records_every_request_at_one_hundred_percent():
    assert silk_should_record(RequestFactory().get("/api/v1/jobs/")) is True


@override_settings(SILK_SAMPLE_PERCENT=0.0, SILK_PROFILE_SECRET="s" * 40)
def test_silk_records_a_request_carrying_the_secret_whatever_the_sample():
    factory = RequestFactory()

    assert silk_should_record(factory.get("/api/v1/jobs/", headers={SILK_PROFILE_HEADER: "s" * 40})) is True
    assert silk_should_record(factory.get("/api/v1/jobs/", headers={SILK_PROFILE_HEADER: "s" * 39})) is False
    assert silk_should_record(factory.get("/api/v1/jobs/")) is False


@override_settings(SILK_SAMPLE_PERCENT=0.0, SILK_PROFILE_SECRET="")
def test_silk_ignores_the_header_when_no_secret_is_set():
    request = RequestFactory().get("/api/v1/jobs/", headers={SILK_PROFILE_HEADER: ""})

    assert silk_should_record(request) is False


@override_settings(SILK_SAMPLE_PERCENT=10.0, SILK_PROFILE_SECRET="")
def test_silk_samples_the_configured_share_of_requests():
    request = RequestFactory().get("/api/v1/jobs/")
    random.seed(4)

    recorded = sum(silk_should_record(request) for _ in range(5000))

    assert 400 < recorded < 600  # 10% of 5000, give or take


# --- who sees the debug toolbar ---------------------------------------------------------------------


@pytest.mark.django_db
@override_settings(DEBUG=True, INTERNAL_IPS=["127.0.0.1"])
def test_debug_toolbar_shows_only_to_active_staff_on_internal_ips():
    def request_from(address: str, user):
        request = RequestFactory().get("/admin/", REMOTE_ADDR=address)
        request.user = user
        return request

    staff = make_user(is_staff=True)

    assert show_debug_toolbar(request_from("127.0.0.1", staff)) is True
    assert show_debug_toolbar(request_from("10.1.2.3", staff)) is False
    assert show_debug_toolbar(request_from("127.0.0.1", make_user())) is False
    assert show_debug_toolbar(request_from("127.0.0.1", make_user(is_staff=True, is_active=False))) is False
    assert show_debug_toolbar(request_from("127.0.0.1", AnonymousUser())) is False
    with override_settings(DEBUG=False):
        assert show_debug_toolbar(request_from("127.0.0.1", staff)) is False
