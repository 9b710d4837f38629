"""Test settings: fast hashing, eager tasks unless a test starts a real worker."""

from .base import *  # noqa: F403
from .base import INSTALLED_APPS, REST_FRAMEWORK, env

DEBUG = False
# The measurement tooling (bench/) is tested like the product: the floor view, demo data, the commands.
INSTALLED_APPS = [*INSTALLED_APPS, "bench"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Throttling is tested explicitly; a generous default keeps other tests from tripping it.
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {
        **REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
        "auth": env("DJANGO_AUTH_THROTTLE_RATE", default="1000/min"),
        "anon": env("DJANGO_ANON_THROTTLE_RATE", default="100000/min"),
    },
}
# Unit tests run tasks in-process; tests of the event-driven path start a real worker on the
# real broker (tests/workers) and switch eager mode off themselves.
CELERY_TASK_ALWAYS_EAGER = True
# Profilers stay out of tests: neither silk nor the debug toolbar is installed (only local.py and,
# for silk, production.py install them), and Server-Timing is off unless a test switches it on.
SILK_ENABLED = False
DEBUG_TOOLBAR_ENABLED = False
# The outage check (backend/caching/outage.py: one query per second per process) would add a query
# to whichever request finds it due, against the suites' exact query counts; the tests of the rule
# switch it on.
CACHE_OUTAGE_POLL = 0
# Request counts ride the round trips a request makes anyway; a flush of their own after a response
# (METRICS_FLUSH_INTERVAL) would land inside whichever request a test measures next, so the tests
# that count Redis commands see exactly the request's own. tests/ops/test_metrics.py sets it per test.
METRICS_FLUSH_INTERVAL = 3600.0
# The shared test machine can stall a Redis reply past the production timeout (250 ms) while other
# suites run: that would trip the circuit breaker mid-test and change what a test observes. Fault
# tests bring their own Redis and stop or pause it, so a longer timeout only slows those down.
if CACHES["default"]["BACKEND"].endswith("ResilientRedisCache"):  # noqa: F405
    CACHES["default"]["OPTIONS"].update(SOCKET_TIMEOUT=2.0, SOCKET_CONNECT_TIMEOUT=2.0)  # noqa: F405
# Each /readyz call probes afresh: tests change the services between calls. The probes' memory
# is tested on its own (tests/ops/test_readiness_load.py).
READINESS_CACHE_SECONDS = 0.0
