"""Production: secrets and service URLs are required, nothing falls back silently.

Run ``python manage.py check --deploy --fail-level WARNING`` with these settings (the release step
does): it must report no issues. What each variable does: docs/deployment.md.
"""

import re

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import (
    DATABASE_POOL,
    DATABASES,
    MIDDLEWARE,
    OPS_PATHS,
    REQUEST_ID_LOG_FILTER,
    REST_FRAMEWORK,
    SILENCED_SYSTEM_CHECKS,
    STORAGES,
    env,
)


def _required(name: str, purpose: str) -> str:
    value = env(name, default="")
    if not value:
        raise ImproperlyConfigured(f"{name} must be set in production: {purpose}.")
    return value


# GENERAL
DEBUG = False
SECRET_KEY = _required("DJANGO_SECRET_KEY", "a long random string that signs sessions and tokens")
_required("DJANGO_ALLOWED_HOSTS", "the comma-separated host names this API answers to, e.g. api.example.com")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
# Origins (scheme and host) allowed to send unsafe requests with a session, e.g. the admin
# behind another domain: https://admin.example.com. Token-authenticated API calls need none.
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
PAESHIFT_ALLOW_DEMO_SEED = False

# DATABASES
# https://docs.djangoproject.com/en/5.2/ref/databases/#persistent-connections
# base.py parsed DATABASE_URL already; production refuses its SQLite fallback.
_required("DATABASE_URL", "the PostgreSQL URL, e.g. postgres://user:password@host:5432/paeshift")
# Persistent connections, checked before reuse (CONN_HEALTH_CHECKS in base.py), so a database
# restart costs one reconnect instead of a failed request.
# With DATABASE_POOL (base.py) the pool keeps connections instead, and CONN_MAX_AGE must stay 0.
# The same for the read replica's alias (DATABASE_REPLICA_URL), when there is one.
for _database in DATABASES.values():
    if not DATABASE_POOL:
        _database["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=60)
    # A database that does not answer must not hold a web worker (or /readyz) for long.
    _database.setdefault("OPTIONS", {}).setdefault("connect_timeout", env.int("DJANGO_DB_CONNECT_TIMEOUT", default=5))

# CACHES and CELERY
# base.py configured the Redis cache from REDIS_URL. The broker has no default here: it must never
# be evicted, and a database number of the cache's server is evicted with the cache (eviction is per
# server). The release's `check --deploy` refuses a broker that can be (backend/ops/checks.py).
_required("REDIS_URL", "the Redis URL of the cache, e.g. redis://cache-host:6379/0")
CELERY_BROKER_URL = _required(
    "CELERY_BROKER_URL",
    "a broker that never evicts: RabbitMQ (amqp://user:password@host:5672/vhost) or a Redis server of its "
    "own with maxmemory-policy noeviction (redis://broker-host:6379/0), never the cache's server",
)
CELERY_TASK_ALWAYS_EAGER = False
# The platform sends SIGTERM, then SIGKILL 30 s later. The Procfile's worker maps SIGTERM to a
# cold shutdown (REMAP_SIGTERM=SIGQUIT) preceded by this soft shutdown: running tasks get up to
# 20 s to finish (a rebuild's hard limit is 15 s); whatever is still running is then cancelled
# and, being acks_late, redelivered to another worker.
# https://docs.celeryq.dev/en/stable/userguide/workers.html#soft-shutdown
CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT = env.float("CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT", default=20.0)

# SECURITY
# https://docs.djangoproject.com/en/5.2/howto/deployment/checklist/
# TLS ends at the platform's router or load balancer, which tells us with X-Forwarded-Proto.
# Only trust that header behind a proxy that sets it (and strips it from clients).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
# Health probes come from inside the platform over plain HTTP, without the proxy header.
SECURE_REDIRECT_EXEMPT = [f"^{re.escape(path.lstrip('/'))}$" for path in OPS_PATHS]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
# Start low and raise to a year (31536000) once HTTPS is known to work for every subdomain:
# browsers remember the header for this long.
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
# Preloading puts the domain into browsers' built-in HTTPS-only lists, which takes months to undo,
# and the lists accept only max-age of a year or more (https://hstspreload.org/#submission-
# requirements): opt in once the year is set. Off, Django's check --deploy warns (security.W021),
# which would fail the release step (--fail-level WARNING): that warning is the decision here.
HSTS_PRELOAD_MIN_SECONDS = 31_536_000
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=False)
if SECURE_HSTS_PRELOAD and SECURE_HSTS_SECONDS < HSTS_PRELOAD_MIN_SECONDS:
    raise ImproperlyConfigured(
        f"DJANGO_SECURE_HSTS_PRELOAD needs DJANGO_SECURE_HSTS_SECONDS of at least {HSTS_PRELOAD_MIN_SECONDS} (a year)."
    )
if not SECURE_HSTS_PRELOAD:
    SILENCED_SYSTEM_CHECKS = [*SILENCED_SYSTEM_CHECKS, "security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True

# DJANGO REST FRAMEWORK
# JSON only: the browsable API (HTML forms for every endpoint, a login page) is for local
# development. A client that accepts only text/html gets a 406, ?format=api a 404.
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]}

# CLIENT ADDRESSES
# https://www.django-rest-framework.org/api-guide/throttling/#how-clients-are-identified
# Rate limits count per client address: the last X-Forwarded-For entry, which the platform's router
# appends (one proxy). Behind a CDN or load balancer that appends too, set DJANGO_NUM_PROXIES=2; with
# none in front (gunicorn reached directly), 0. Entries left of the trusted ones are the client's
# own and never read (backend/common/throttling.py).
REST_FRAMEWORK = {**REST_FRAMEWORK, "NUM_PROXIES": env.int("DJANGO_NUM_PROXIES", default=1)}

# STATIC
# https://whitenoise.readthedocs.io/en/stable/django.html
# Files are collected at build time (Dockerfile, the platform's build step, `make up`); the
# manifest storage then serves them under hashed names with far-future cache headers.
MIDDLEWARE = [MIDDLEWARE[0], "whitenoise.middleware.WhiteNoiseMiddleware", *MIDDLEWARE[1:]]
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# LOGGING
# One JSON object per line on stdout, for the platform's log router, from every logger through
# the root: task events (received, succeeded, failed, retried) from celery.*, rebuilds from
# workers.*, Redis failures and circuit-breaker changes from backend.caching.*. The worker and
# beat use this configuration too (config/celery_app.py).
# https://nhairs.github.io/python-json-logger/latest/
LOG_LEVEL = env("DJANGO_LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(levelname)s %(name)s %(process)d %(message)s",
            "rename_fields": {"levelname": "level", "name": "logger", "process": "pid"},
            "timestamp": "time",
        }
    },
    # `request_id` on every line (backend/observability/request_id.py): a field of its own.
    "filters": {"request_id": REQUEST_ID_LOG_FILTER},
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "json",
            "filters": ["request_id"],
        },
    },
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "WARNING"}, "django_guid": {"level": "WARNING"}},
}

# SILK ----------------------------------------------------------------------------------------
# https://github.com/jazzband/django-silk#configuration
# Off unless SILK_ENABLED=true (then run `migrate` once: silk has its own tables). When on, silk
# records SILK_SAMPLE_PERCENT of requests (default 1) plus every request that carries the header
# X-Silk-Profile with the value of SILK_PROFILE_SECRET (set it to a long random string to profile
# one request on demand). Bodies above the caps are not stored; the UI and its data are for
# logged-in staff only (base.py); beat trims the records (workers/profiling.py). docs/profiling.md.
SILK_ENABLED = env.bool("SILK_ENABLED", default=False)
if SILK_ENABLED:
    from .base import INSTALLED_APPS, with_silk_middleware

    INSTALLED_APPS = [*INSTALLED_APPS, "silk"]
    MIDDLEWARE = with_silk_middleware(MIDDLEWARE)
    SILK_SAMPLE_PERCENT = env.float("SILK_SAMPLE_PERCENT", default=1.0)
    SILK_PROFILE_SECRET = env("SILK_PROFILE_SECRET", default="")
    if SILK_PROFILE_SECRET and len(SILK_PROFILE_SECRET) < 32:
        raise ImproperlyConfigured("SILK_PROFILE_SECRET must be at least 32 characters long.")
    SILKY_MAX_REQUEST_BODY_SIZE = env.int("SILKY_MAX_REQUEST_BODY_SIZE", default=16 * 1024)  # bytes
    SILKY_MAX_RESPONSE_BODY_SIZE = env.int("SILKY_MAX_RESPONSE_BODY_SIZE", default=64 * 1024)  # bytes
    SILKY_PYTHON_PROFILER = False
# END SILK ------------------------------------------------------------------------------------

# SENTRY --------------------------------------------------------------------------------------
# https://docs.sentry.io/platforms/python/integrations/django/
# Off unless SENTRY_DSN is set; then web, worker and beat report unhandled errors and failed tasks,
# and beat's schedule is reported as cron monitors (backend/ops/error_tracking.py). Traces are off
# unless SENTRY_TRACES_SAMPLE_RATE (0 to 1) says otherwise. docs/operations.md.
SENTRY_DSN = env("SENTRY_DSN", default="")
SENTRY_ENVIRONMENT = env("SENTRY_ENVIRONMENT", default="production")
SENTRY_TRACES_SAMPLE_RATE = env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0)
if not 0.0 <= SENTRY_TRACES_SAMPLE_RATE <= 1.0:
    raise ImproperlyConfigured("SENTRY_TRACES_SAMPLE_RATE must be between 0 and 1.")
if SENTRY_DSN:
    from backend.ops import error_tracking

    error_tracking.init(dsn=SENTRY_DSN, environment=SENTRY_ENVIRONMENT, traces_sample_rate=SENTRY_TRACES_SAMPLE_RATE)
# END SENTRY ----------------------------------------------------------------------------------
