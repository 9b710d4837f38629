"""Local development: debug on, embedded defaults unless DATABASE_URL / REDIS_URL are set."""

from .base import *  # noqa: F403
from .base import BASE_DIR, INSTALLED_APPS, MIDDLEWARE, env, with_silk_middleware

DEBUG = env.bool("DJANGO_DEBUG", default=True)
SERVER_TIMING_ENABLED = env.bool("SERVER_TIMING_ENABLED", default=True)

# The measurement tooling (bench/): demo data for `make run`, the benchmark's floor at /api/v1/ops/floor/,
# and the bench, perf_report, measure_cachalot and explain_hot_reads commands. Never in production.
INSTALLED_APPS = [*INSTALLED_APPS, "bench"]

# SILK
# https://github.com/jazzband/django-silk#configuration
# Every request recorded (SQL included), UI at /silk/ for staff (log in at /admin/ first). Shared
# settings in base.py; guide in docs/profiling.md. `make migrate` creates silk's tables.
SILK_ENABLED = env.bool("SILK_ENABLED", default=True)
if SILK_ENABLED:
    INSTALLED_APPS = [*INSTALLED_APPS, "silk"]
    MIDDLEWARE = with_silk_middleware(MIDDLEWARE)
    SILK_SAMPLE_PERCENT = 100.0
    # cProfile on every recorded request: off by default (it slows requests several times over).
    # SILKY_PYTHON_PROFILER=true turns it on; SILKY_PYTHON_PROFILER_BINARY=true also keeps a
    # .prof file per request in SILKY_PYTHON_PROFILER_RESULT_PATH (for snakeviz, gprof2dot);
    # or profile one function with @silk_profile (silk.profiling.profiler).
    SILKY_PYTHON_PROFILER = env.bool("SILKY_PYTHON_PROFILER", default=False)
    SILKY_PYTHON_PROFILER_BINARY = env.bool("SILKY_PYTHON_PROFILER_BINARY", default=False)
    SILKY_PYTHON_PROFILER_RESULT_PATH = env("SILKY_PYTHON_PROFILER_RESULT_PATH", default=str(BASE_DIR / "var" / "silk"))

# DEBUG TOOLBAR
# https://django-debug-toolbar.readthedocs.io/en/latest/configuration.html
# Installed here only (requirements/local.txt): shown on HTML pages (the admin, the browsable API)
# to staff users browsing from INTERNAL_IPS. After the authentication middleware, which the
# callback needs.
DEBUG_TOOLBAR_ENABLED = env.bool("DEBUG_TOOLBAR_ENABLED", default=True)
if DEBUG_TOOLBAR_ENABLED:
    INSTALLED_APPS = [*INSTALLED_APPS, "debug_toolbar"]
    _after = MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1
    MIDDLEWARE = [*MIDDLEWARE[:_after], "debug_toolbar.middleware.DebugToolbarMiddleware", *MIDDLEWARE[_after:]]
    INTERNAL_IPS = env.list("DJANGO_INTERNAL_IPS", default=["127.0.0.1", "::1"])
    DEBUG_TOOLBAR_CONFIG = {"SHOW_TOOLBAR_CALLBACK": "backend.observability.profiling.show_debug_toolbar"}
