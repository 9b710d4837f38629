"""Settings shared by every environment.

Everything that varies between machines is read from the environment through the one ``env``
below. Without ``DATABASE_URL`` / ``REDIS_URL`` the project runs on its embedded defaults:
SQLite, the in-process cache and Celery tasks executed eagerly, through the same code paths.
"""

import operator
import re
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import environ
from corsheaders.defaults import default_headers
from django.core.exceptions import ImproperlyConfigured

from backend.common.converters import ID_SCHEMA
from backend.common.redis_client import fail_fast_options
from backend.observability.profiling import silk_should_record

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()

# GENERAL
# https://docs.djangoproject.com/en/5.2/ref/settings/#core-settings
DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="insecure-local-only-key-not-for-production")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"
USE_I18N = True
USE_TZ = True

# DATABASES
# https://docs.djangoproject.com/en/5.2/ref/settings/#databases
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Connection pooling (psycopg_pool through Django's PostgreSQL backend, Django 5.1+:
# https://docs.djangoproject.com/en/5.2/ref/databases/#connection-pool), off by default. For a web
# server with threads (gunicorn gthread, granian): each process keeps at most DATABASE_POOL_MAX_SIZE
# connections however many threads it runs, and a thread waits up to DATABASE_POOL_TIMEOUT seconds
# for one (then psycopg_pool.PoolTimeout, an OperationalError: the API's 503). Django refuses a pool
# with persistent connections, so CONN_MAX_AGE is 0 with it (connections go back to the pool at the
# end of each request instead of being closed). Measured in docs/benchmarks/servers.md.
DATABASE_POOL = env.bool("DATABASE_POOL", default=False)
if DATABASE_POOL:
    if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured("DATABASE_POOL=true needs PostgreSQL (DATABASE_URL postgres://...)")
    if env.int("DJANGO_CONN_MAX_AGE", default=0) != 0:
        raise ImproperlyConfigured("DATABASE_POOL=true replaces persistent connections: unset DJANGO_CONN_MAX_AGE")
    _pool_min, _pool_max = env.int("DATABASE_POOL_MIN_SIZE", default=2), env.int("DATABASE_POOL_MAX_SIZE", default=4)
    if not 0 <= _pool_min <= _pool_max or _pool_max < 1:
        raise ImproperlyConfigured(
            f"DATABASE_POOL_MIN_SIZE ({_pool_min}) and DATABASE_POOL_MAX_SIZE ({_pool_max}): "
            "need 0 <= min <= max and max >= 1"
        )
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": _pool_min,
        "max_size": _pool_max,
        "timeout": env.float("DATABASE_POOL_TIMEOUT", default=5.0),
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default under a small team's concurrent writes (runserver answers each request
    # on a thread of its own): https://docs.djangoproject.com/en/5.2/ref/databases/#sqlite-notes
    # - transaction_mode IMMEDIATE: a transaction takes the write lock when it begins. Deferred,
    #   two transactions that read and then write deadlock, and SQLite fails one at once with
    #   "database is locked" instead of waiting out the timeout.
    # - timeout: seconds a writer waits for the lock before that error.
    # - WAL: readers never wait for the writer, nor the writer for readers; synchronous=NORMAL
    #   is WAL's recommended durability (a power cut may lose the last commits, never corrupt).
    # Measured by tests/deployment/test_embedded_concurrency.py (README, "Embedded default").
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        transaction_mode="IMMEDIATE",
        timeout=env.float("DJANGO_SQLITE_TIMEOUT", default=20.0),
        init_command="PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# READ REPLICA
# A PostgreSQL streaming replica for the reads that cannot see its lag (backend/common/db_routing.py;
# docs/scaling.md, "Read replica"). Unset: no `replica` alias, every query on `default`, the same code.
# DATABASE_REPLICA_STICKY_SECONDS: how long a user's write keeps their reads on the primary at most
# (less when the replica has replayed it sooner); a replica further behind than this serves them stale.
DATABASE_REPLICA_URL = env("DATABASE_REPLICA_URL", default="")
DATABASE_REPLICA_STICKY_SECONDS = env.int("DATABASE_REPLICA_STICKY_SECONDS", default=60)
if DATABASE_REPLICA_URL:
    _replica = environ.Env.db_url_config(DATABASE_REPLICA_URL)
    if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql" or (
        _replica.get("ENGINE") != "django.db.backends.postgresql"
    ):
        raise ImproperlyConfigured("DATABASE_REPLICA_URL needs PostgreSQL for both DATABASE_URL and the replica")
    if not _replica.get("NAME"):
        raise ImproperlyConfigured("DATABASE_REPLICA_URL names no database: postgres://user@host:port/name")
    if DATABASE_REPLICA_STICKY_SECONDS < 1:
        raise ImproperlyConfigured("DATABASE_REPLICA_STICKY_SECONDS must be at least 1")
    # The same connection handling as the primary's; tests mirror `default` instead of creating a database.
    DATABASES["replica"] = {
        **{name: DATABASES["default"][name] for name in ("ATOMIC_REQUESTS", "CONN_MAX_AGE", "CONN_HEALTH_CHECKS")},
        **_replica,
        "OPTIONS": {**DATABASES["default"].get("OPTIONS", {}), **_replica.get("OPTIONS", {})},
        "TEST": {"MIRROR": "default"},
    }
DATABASE_ROUTERS = ["backend.common.db_routing.ReplicaRouter"]

# URLS
ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

# APPS
DJANGO_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.admin",
]
THIRD_PARTY_APPS = [
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "drf_standardized_errors",
    "cachalot",
    "django_guid",
    "corsheaders",
]
LOCAL_APPS = [
    "backend.common",
    "backend.accounts",
    "backend.jobs",
    "backend.payments",
    "backend.ratings",
    "backend.caching",
    "backend.ops",
]
INSTALLED_APPS = DJANGO_APPS + THIRD_PARTY_APPS + LOCAL_APPS

# AUTHENTICATION
# https://docs.djangoproject.com/en/5.2/topics/auth/customizing/
AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# MIDDLEWARE
# https://docs.djangoproject.com/en/5.2/topics/http/middleware/
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # The request id: from X-Request-ID when well-formed, else new; in every log line, the response
    # header and the Celery tasks the request enqueues (backend/observability/request_id.py).
    "backend.observability.request_id.RequestIdMiddleware",
    # CORS for browser clients (CORS_ALLOWED_ORIGINS): answers preflights before anything below can.
    "corsheaders.middleware.CorsMiddleware",
    # Reads each body whole before anything else can, refusing framings that would drop it
    # (backend/common/request_body.py); nothing listed before it may read the body.
    "backend.common.request_body.RequestBodyMiddleware",
    # Which database a request reads, and the write marker of its user (backend/common/db_routing.py);
    # removed at start-up without DATABASE_REPLICA_URL. Outside sessions: their save commits first.
    "backend.common.db_routing.ReadYourWritesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # The auth rate limit on the admin's password and add-user forms (backend/common/throttling.py).
    "backend.common.throttling.AuthThrottleMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Cache-Control: private, no-store on payments, account details, /me/ and token responses.
    "backend.common.private_responses.PrivateResponseMiddleware",
    # 400 for a query parameter the API view does not document (backend/common/query_params.py).
    "backend.common.query_params.UnknownQueryParametersMiddleware",
    "backend.observability.server_timing.ServerTimingMiddleware",
]
# Request bodies are small JSON documents; anything bigger is refused with a 4xx.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DJANGO_DATA_UPLOAD_MAX_MEMORY_SIZE", default=64 * 1024)

# STATIC
# https://docs.djangoproject.com/en/5.2/howto/static-files/
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# TEMPLATES
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# CACHES
# https://github.com/jazzband/django-redis
# With REDIS_URL: django-redis behind a circuit breaker (backend/caching/backends.py); without
# it: the in-process cache. Either way every Redis failure is a cache miss, never a 500.
REDIS_URL = env("REDIS_URL", default="")
# REDIS_URL names one node of a Redis Cluster (redis://host:port, no database): the cache and the hot
# store run on redis-py's RedisCluster (backend/caching/cluster.py; docs/scaling.md, "Redis Cluster").
REDIS_CLUSTER = env.bool("REDIS_CLUSTER", default=False)
# On a cluster an invalidation counts as done once the slot's replica has it (WAIT 1 <ms>); otherwise it
# is recorded as lost and replayed (docs/scaling.md, "Failover").
REDIS_CLUSTER_WAIT_MS = env.int("REDIS_CLUSTER_WAIT_MS", default=100)
if REDIS_CLUSTER and not REDIS_URL:
    raise ImproperlyConfigured("REDIS_CLUSTER=true needs REDIS_URL: redis://host:port of any node of the cluster")
if REDIS_CLUSTER and urlsplit(REDIS_URL).path.strip("/") not in ("", "0"):
    raise ImproperlyConfigured(
        f"REDIS_CLUSTER=true: a Redis Cluster has database 0 only; REDIS_URL names database "
        f"{urlsplit(REDIS_URL).path.strip('/')!r} (redis://host:port, without a database)"
    )
CACHE_BREAKER_COOLDOWN = env.float("CACHE_BREAKER_COOLDOWN", default=2.0)


def next_redis_db_url(url: str) -> str:
    """The same Redis server as ``url``, on the next database number. Raises ``ImproperlyConfigured``
    when ``url`` names no database number (a ``unix://`` socket path): set ``CELERY_BROKER_URL`` then."""
    parts = urlsplit(url)
    number = parts.path.strip("/") or "0"
    if not number.isdigit():
        raise ImproperlyConfigured(
            f"REDIS_URL {url!r} has no database number to put the broker beside: set CELERY_BROKER_URL"
        )
    db = int(number) + 1
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, parts.fragment))


def redis_cache(url: str, *, cluster: bool = False) -> dict:
    """The cache configuration for a Redis URL (also used by tests that bring their own Redis).

    ``cluster``: ``url`` names a node of a Redis Cluster; django-redis then runs on redis-py's
    ``RedisCluster`` through the client and connection factory of ``backend.caching.cluster``.
    """
    if cluster:
        return {
            "BACKEND": "backend.caching.backends.ResilientRedisCache",
            "LOCATION": url,
            "OPTIONS": {
                "CLIENT_CLASS": "backend.caching.cluster.ClusterClient",
                "CONNECTION_FACTORY": "backend.caching.cluster.ClusterConnectionFactory",
                "SOCKET_CONNECT_TIMEOUT": env.float("REDIS_SOCKET_CONNECT_TIMEOUT", default=0.25),
                "SOCKET_TIMEOUT": env.float("REDIS_SOCKET_TIMEOUT", default=0.25),
                "IGNORE_EXCEPTIONS": False,
            },
        }
    return {
        "BACKEND": "backend.caching.backends.ResilientRedisCache",
        "LOCATION": url,
        "OPTIONS": {
            "CLIENT_CLASS": "django_redis.client.DefaultClient",
            # Fail fast: a slow or dead Redis must not hold requests for long.
            "SOCKET_CONNECT_TIMEOUT": env.float("REDIS_SOCKET_CONNECT_TIMEOUT", default=0.25),
            "SOCKET_TIMEOUT": env.float("REDIS_SOCKET_TIMEOUT", default=0.25),
            # The backend itself turns failures into misses (and trips the breaker).
            "IGNORE_EXCEPTIONS": False,
            # No retry and RESP2, pinned against redis-py's defaults (backend/common/redis_client.py).
            "CONNECTION_POOL_KWARGS": {"health_check_interval": 30, **fail_fast_options()},
        },
    }


if DATABASE_REPLICA_URL and not REDIS_URL:
    # The write markers that keep read-your-writes must be seen by every web process.
    raise ImproperlyConfigured("DATABASE_REPLICA_URL needs REDIS_URL (the cache every web process shares)")
if REDIS_URL:
    CACHES = {"default": redis_cache(REDIS_URL, cluster=REDIS_CLUSTER)}
else:
    # LocMem culls a third of its entries once it holds MAX_ENTRIES (300 by default): far too few
    # for cachalot's per-query entries, so give it room.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "paeshift",
            "OPTIONS": {"MAX_ENTRIES": 200_000},
        }
    }

# CACHALOT
# https://django-cachalot.readthedocs.io/en/latest/quickstart.html#settings
# cachalot invalidates a whole table on any write to it, so it caches only read-mostly tables
# (a query is cached only when every table it reads is listed here). Measurements behind the
# choice: docs/caching.md.
CACHALOT_ENABLED = env.bool("CACHALOT_ENABLED", default=True)
CACHALOT_TIMEOUT = env.int("CACHALOT_TIMEOUT", default=900)
# Only the primary's queries: cachalot keys and invalidates per database alias, and every write goes to
# `default`, so a result read on the replica would never be invalidated (docs/scaling.md, "Read replica").
CACHALOT_DATABASES = frozenset({"default"})
CACHALOT_ONLY_CACHABLE_TABLES = frozenset(
    {
        "accounts_user",
        "authtoken_token",
        "accounts_profile",
        "accounts_accountdetails",
        "django_content_type",
        "auth_permission",
        "auth_group",
        "auth_group_permissions",
        "accounts_user_groups",
        "accounts_user_user_permissions",
    }
)
# Never cached, whatever the list above says: write-heavy domain tables and the bookkeeping of
# sessions, migrations, silk, Celery and the cache itself.
CACHALOT_UNCACHABLE_TABLES = frozenset(
    {
        "django_migrations",
        "django_session",
        "django_admin_log",
        "jobs_job",
        "jobs_application",
        "payments_payment",
        "ratings_review",
        "caching_cacheoutage",
        "silk_request",
        "silk_response",
        "silk_sqlquery",
        "silk_profile",
        "silk_profile_queries",
    }
)
# ResilientRedisCache is django-redis's RedisCache with a circuit breaker: supported in substance.
SILENCED_SYSTEM_CHECKS = ["cachalot.W001"]

# HOT CACHES
# Per-user rendered responses, declared in <app>/hot_caches.py; design in docs/caching.md.
HOT_CACHE_ENABLED = env.bool("HOT_CACHE_ENABLED", default=True)
# Namespace -> seconds, overriding the TTL a declaration gives, e.g. {"payments:user": 120}.
HOT_CACHE_TTLS: dict[str, float] = env.json("HOT_CACHE_TTLS", default={})
# Whether invalidations enqueue rebuilds for the workers (off: the next read builds).
HOT_CACHE_WORKER_REBUILD = env.bool("HOT_CACHE_WORKER_REBUILD", default=True)
# A burst of writes to one key within this many seconds enqueues at most two rebuilds.
HOT_CACHE_COALESCE_WINDOW = env.float("HOT_CACHE_COALESCE_WINDOW", default=1.0)
# A write enqueues the rebuild of a key only if the key's popularity (its reads, halved every
# HOT_CACHE_POPULARITY_DECAY_PERIOD) is at least this: about one read since the last decay. The others
# are invalidated all the same and built by their next read (docs/caching.md, "Write path"); 0 rebuilds all.
HOT_CACHE_REBUILD_MIN_POPULARITY = env.float("HOT_CACHE_REBUILD_MIN_POPULARITY", default=1.0)
HOT_CACHE_GENERATION_TTL = 2 * 24 * 3600
# A key whose build found nothing (404: an unknown or inactive id) keeps its generation and its
# cached 404 this many seconds at most, so what anonymous requests for random ids leave in Redis
# is bounded by this lifetime x their rate (docs/caching.md, "Bounds").
HOT_CACHE_NOT_FOUND_TTL = env.float("HOT_CACHE_NOT_FOUND_TTL", default=60.0)
# Concurrent misses on one key: one builds (lock held at most this long), the rest wait this long.
HOT_CACHE_LOCK_TIMEOUT = 2.0
HOT_CACHE_LOCK_WAIT = 0.1
# Refresh-ahead (beat): the top K keys of each namespace older than FRACTION of their TTL.
HOT_CACHE_REFRESH_TOP_K = env.int("HOT_CACHE_REFRESH_TOP_K", default=200)
HOT_CACHE_REFRESH_FRACTION = env.float("HOT_CACHE_REFRESH_FRACTION", default=0.75)
HOT_CACHE_REFRESH_PERIOD = env.float("HOT_CACHE_REFRESH_PERIOD", default=30.0)
HOT_CACHE_POPULARITY_DECAY = 0.5
HOT_CACHE_POPULARITY_DECAY_PERIOD = 3600.0
HOT_CACHE_POPULARITY_KEEP = 10_000
# How often beat replays invalidations lost during a cache outage.
CACHE_RECOVERY_PERIOD = env.float("CACHE_RECOVERY_PERIOD", default=3.0)
# How often each process checks the database for an unreplayed cache outage (seconds): the bound on
# how long it may serve a cached entry that another process's lost invalidation should have removed.
CACHE_OUTAGE_POLL = env.float("CACHE_OUTAGE_POLL", default=1.0)
# Server-Timing header with the cache outcome, db time and query count of each request.
SERVER_TIMING_ENABLED = env.bool("SERVER_TIMING_ENABLED", default=False)

# SILK
# https://github.com/jazzband/django-silk#configuration
# Installed by local.py (every request) and, when SILK_ENABLED, by production.py (sampled); never
# in tests. What follows applies wherever it is installed. How to read it: docs/profiling.md.
SILK_ENABLED = False
# Which requests are recorded (backend/observability/profiling.py): SILK_SAMPLE_PERCENT of them, plus
# every request with the header X-Silk-Profile equal to SILK_PROFILE_SECRET (when set); never the
# probes (OPS_PATHS), static files, silk's own pages or the toolbar's.
SILK_SAMPLE_PERCENT = 100.0
SILK_PROFILE_SECRET = ""
SILKY_INTERCEPT_FUNC = silk_should_record
# The UI and the data behind it: logged-in staff only (anonymous visitors go to the admin login).
SILKY_AUTHENTICATION = True
SILKY_AUTHORISATION = True
SILKY_PERMISSIONS = operator.attrgetter("is_staff")
LOGIN_URL = "admin:login"
# Bounded: beat trims to the newest SILKY_MAX_RECORDED_REQUESTS every SILK_GARBAGE_COLLECT_PERIOD
# seconds (workers/profiling.py); requests never collect (CHECK_PERCENT 0).
SILKY_MAX_RECORDED_REQUESTS = env.int("SILKY_MAX_RECORDED_REQUESTS", default=10_000)
SILKY_MAX_RECORDED_REQUESTS_CHECK_PERCENT = 0
SILK_GARBAGE_COLLECT_PERIOD = env.float("SILK_GARBAGE_COLLECT_PERIOD", default=600.0)
# silk explains every query it records; ANALYZE would run each query a second time.
SILKY_ANALYZE_QUERIES = False
SILKY_PYTHON_PROFILER = False


def with_silk_middleware(middleware: list[str]) -> list[str]:
    """``middleware`` with silk's just outside ServerTimingMiddleware.

    silk's own middleware, guarded so that recording a request never changes its response
    (backend/observability/silk_recording.py). Server-Timing stays innermost, so silk's own writes (its
    request, response and query rows) happen outside what Server-Timing measures; the EXPLAINs silk
    runs inside the view are reported apart from the application's queries
    (backend/observability/server_timing.py).
    """
    index = middleware.index("backend.observability.server_timing.ServerTimingMiddleware")
    return [*middleware[:index], SILK_MIDDLEWARE, *middleware[index:]]


SILK_MIDDLEWARE = "backend.observability.silk_recording.SilkRecordingMiddleware"
# silk's own test of "installed" (``silk_profile``, dynamic profiling) looks for this class in MIDDLEWARE:
# ours wraps silk's, so without it every silk_profile logged "silk is not installed correctly" and did nothing.
SILKY_MIDDLEWARE_CLASS = SILK_MIDDLEWARE


# CELERY
# https://docs.celeryq.dev/en/stable/userguide/configuration.html
# Outside production the broker defaults to the next database number on the cache's Redis server
# (redis://h/0 -> redis://h/1): fine for development and tests, whose Redis has no maxmemory. The
# broker must never be evicted, and eviction is per server, not per database: production requires
# CELERY_BROKER_URL (RabbitMQ, or a Redis server of its own with noeviction), and `check --deploy`
# and /readyz report a broker that can be evicted (backend/ops/broker_placement.py).
# A Redis Cluster has one database and Celery's Redis transport does not run on a cluster: with
# REDIS_CLUSTER the broker must be given.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="") or (
    next_redis_db_url(REDIS_URL) if REDIS_URL and not REDIS_CLUSTER else "memory://"
)
if REDIS_CLUSTER and CELERY_BROKER_URL == "memory://" and not env.bool("CELERY_TASK_ALWAYS_EAGER", default=False):
    raise ImproperlyConfigured("REDIS_CLUSTER=true needs CELERY_BROKER_URL (or CELERY_TASK_ALWAYS_EAGER=true)")
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_TIMEZONE = TIME_ZONE
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A write must not wait on a dead broker: fail fast, the next read rebuilds the key instead. A
# paused or blackholed broker accepts the connection and never answers, so a publish waits
# socket_timeout per attempt: one attempt, no retry (a retry tripled the wait and a reconnect
# after a broker restart needs none). The event loop of the worker's consumer is not subject to
# socket_timeout. Measured in tests/reliability/test_broker_outage.py (docs/reliability.md).
CELERY_BROKER_CONNECTION_TIMEOUT = 1.0
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 0}
# visibility_timeout: a message delivered to a worker that dies without acknowledging it (SIGKILL,
# a lost host) goes back to the queue this many seconds after its delivery. It must exceed the
# longest time a delivered message can stay unacknowledged while its worker lives (a prefetched
# message waiting behind a 60 s task, then running), or it runs twice; a rebuild lost meanwhile only
# means a cold key, which the next read builds. unacked_restore_throttle 1: sweep for such messages
# every unacked_restore_interval (10 s), not every 100 s. Trade-off: docs/reliability.md.
REDIS_BROKER_TRANSPORT_OPTIONS = {
    "socket_timeout": 1,
    "socket_connect_timeout": 1,
    # A Redis broker's timed-out command is not retried (kombu passes it to redis-py; pooled
    # connections have no other retry): the publish fails within socket_timeout, as above.
    "retry_on_timeout": False,
    "visibility_timeout": env.int("CELERY_BROKER_VISIBILITY_TIMEOUT", default=120),
    "unacked_restore_throttle": 1,
}
# RabbitMQ (amqp://, docs/scaling.md "Broker") has none of the above: a message delivered to a worker
# whose connection closes (SIGKILL, a lost host once heartbeats stop) goes back to its queue at once,
# without a timeout to tune. What it needs instead:
# - confirm_publish: each publish waits for the broker's basic.ack, so a message the broker refused
#   or never stored raises in the caller (the breaker and the readers' rebuild take over) instead of
#   vanishing; the messages themselves are persistent and their queues durable (Celery's defaults,
#   set explicitly below), so an acknowledged publish survives a broker restart.
# - read_timeout/write_timeout: a paused or blackholed broker must not hold a write's on_commit for
#   longer than the Redis broker's socket_timeout (1 s) does; py-amqp sets them on the socket
#   (SO_RCVTIMEO, SO_SNDTIMEO), which also bounds the wait for a publisher confirm.
# Classic durable queues, not quorum queues: see docs/scaling.md for why and when to switch.
AMQP_BROKER_TRANSPORT_OPTIONS = {
    "confirm_publish": True,
    "read_timeout": 1,
    "write_timeout": 1,
}
AMQP_SCHEMES = ("amqp", "amqps", "pyamqp")
CELERY_BROKER_TRANSPORT_OPTIONS = (
    AMQP_BROKER_TRANSPORT_OPTIONS
    if urlsplit(CELERY_BROKER_URL).scheme in AMQP_SCHEMES
    else REDIS_BROKER_TRANSPORT_OPTIONS
)
CELERY_TASK_DEFAULT_DELIVERY_MODE = "persistent"
# Rebuilds: acknowledged after they ran, redelivered if the worker dies, one at a time per process.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_IMPORTS = ("workers.cache", "workers.profiling")
# Routes by task name (the names are fixed in workers/, so messages queued during a deploy still
# resolve): cache work on the `cache` queue, so warming never waits behind other work.
CELERY_TASK_ROUTES = {
    "workers.cache.rebuild_hot_key": {"queue": "cache"},
    "workers.cache.rebuild_hot_keys": {"queue": "cache"},
    "workers.cache.refresh_hot_keys": {"queue": "cache"},
    "workers.cache.recover_cache": {"queue": "cache"},
    "workers.cache.decay_popularity": {"queue": "cache"},
    "workers.profiling.collect_silk_garbage": {"queue": "default"},
}
CELERY_BEAT_SCHEDULE = {
    "refresh-hot-keys": {"task": "workers.cache.refresh_hot_keys", "schedule": HOT_CACHE_REFRESH_PERIOD},
    "recover-cache": {"task": "workers.cache.recover_cache", "schedule": CACHE_RECOVERY_PERIOD},
    "decay-popularity": {"task": "workers.cache.decay_popularity", "schedule": HOT_CACHE_POPULARITY_DECAY_PERIOD},
    # A no-op where silk is not installed.
    "collect-silk-garbage": {"task": "workers.profiling.collect_silk_garbage", "schedule": SILK_GARBAGE_COLLECT_PERIOD},
}

# DJANGO REST FRAMEWORK
# https://www.django-rest-framework.org/api-guide/settings/
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "backend.accounts.authentication.HotTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    # Strict about charset, nesting and duplicate keys (backend/common/parsers.py).
    "DEFAULT_PARSER_CLASSES": ["backend.common.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "backend.common.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "backend.common.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "drf_standardized_errors.handler.exception_handler",
    # Rate limits (backend/common/throttling.py): atomic counters in the cache, per client address
    # or per user. The auth endpoints use the `auth` scope only; the probes use none.
    "DEFAULT_THROTTLE_CLASSES": [
        "backend.common.throttling.AnonRateThrottle",
        "backend.common.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        # Every request that sends a password or creates an account (API and admin), per client.
        "auth": env("DJANGO_AUTH_THROTTLE_RATE", default="20/min"),
        # Every anonymous API request, per client address.
        "anon": env("DJANGO_ANON_THROTTLE_RATE", default="120/min"),
        # Every authenticated API request, per user: off unless set (it would add a Redis round
        # trip to every hot hit; a token is attributable and revocable).
        "user": env("DJANGO_USER_THROTTLE_RATE", default=None),
    },
    # How many proxies in front of the app append the client's address to X-Forwarded-For: 0
    # here (runserver, tests: the TCP peer is the client); production.py defaults to 1 (the
    # platform's router). Never more than the deployment really has: every extra one trusts a
    # value the client wrote.
    "NUM_PROXIES": env.int("DJANGO_NUM_PROXIES", default=0),
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

# API SCHEMA
# https://drf-spectacular.readthedocs.io/en/latest/settings.html
SPECTACULAR_SETTINGS = {
    "TITLE": "Paeshift API",
    "DESCRIPTION": (
        "Shift-work marketplace: clients post paid shifts, workers apply, the client accepts, "
        "the shift is completed and paid, both sides review each other. Authenticate with "
        "`Authorization: Token <key>` from `POST /api/v1/auth/token/`. Every error has one shape: "
        '`{"type", "errors": [{"code", "detail", "attr"}]}`. A query parameter an operation does not '
        "document is a 400 (`unknown_parameter`), so a misspelt filter never returns unfiltered data; a "
        "request body over 64 KiB is a 413. A body is applied as sent or refused, never dropped: a key an "
        "operation does not declare is a 400 (`unknown_field`), JSON must be UTF-8 without duplicate keys, and "
        "a PATCH without `Content-Length` (or chunked framing) is a 411. Every response carries `X-Request-ID`: "
        "the one the request sent when it is 1-64 of `A-Z a-z 0-9 . _ : -`, else a new UUID; quote it when "
        "reporting a problem. Paths of the previous system answer with `Deprecation` and `Sunset` headers."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ValidationErrorEnum": "drf_standardized_errors.openapi_serializers.ValidationErrorEnum.choices",
        "ClientErrorEnum": "drf_standardized_errors.openapi_serializers.ClientErrorEnum.choices",
        "ServerErrorEnum": "drf_standardized_errors.openapi_serializers.ServerErrorEnum.choices",
        "ErrorCode401Enum": "drf_standardized_errors.openapi_serializers.ErrorCode401Enum.choices",
        "ErrorCode403Enum": "drf_standardized_errors.openapi_serializers.ErrorCode403Enum.choices",
        "ErrorCode404Enum": "drf_standardized_errors.openapi_serializers.ErrorCode404Enum.choices",
        "ErrorCode405Enum": "drf_standardized_errors.openapi_serializers.ErrorCode405Enum.choices",
        "ErrorCode406Enum": "drf_standardized_errors.openapi_serializers.ErrorCode406Enum.choices",
        "ErrorCode415Enum": "drf_standardized_errors.openapi_serializers.ErrorCode415Enum.choices",
        "ErrorCode429Enum": "drf_standardized_errors.openapi_serializers.ErrorCode429Enum.choices",
        "ErrorCode500Enum": "drf_standardized_errors.openapi_serializers.ErrorCode500Enum.choices",
        "ErrorCode503Enum": "backend.common.openapi.ServiceUnavailableCodeEnum.choices",
        "JobStatusEnum": "backend.jobs.models.Job.Status",
        "ApplicationStatusEnum": "backend.jobs.models.Application.Status",
        "PaymentStatusEnum": "backend.payments.models.Payment.Status",
    },
    # Ids in paths are whole numbers of 1 to 18 digits (backend.common.converters.IdConverter), not strings.
    "PATH_CONVERTER_OVERRIDES": {"id": ID_SCHEMA},
    "PREPROCESSING_HOOKS": ["backend.common.legacy.drop_alternate_spellings"],
    # Swagger UI and Redoc served from our own static files (drf-spectacular-sidecar), not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_standardized_errors.openapi_hooks.postprocess_schema_enums",
        "backend.common.openapi.list_item_error_attrs",
        "backend.common.openapi.request_body_error_codes",
        "backend.common.openapi.error_unions_without_discriminator",
    ],
}

# ERRORS
# https://drf-standardized-errors.readthedocs.io/en/latest/settings.html
DRF_STANDARDIZED_ERRORS = {
    "ENABLE_IN_DEBUG_FOR_UNHANDLED_EXCEPTIONS": True,
    "EXCEPTION_HANDLER_CLASS": "backend.common.errors.ApiExceptionHandler",
    # The library's defaults plus 413 (a body over DATA_UPLOAD_MAX_MEMORY_SIZE), documented on the
    # operations that read a body, and 503 (the database unreachable: backend.common.errors), on every
    # operation (backend.common.openapi.AutoSchema).
    "ALLOWED_ERROR_STATUS_CODES": ["400", "401", "403", "404", "405", "406", "411", "413", "415", "429", "500", "503"],
    "ERROR_SCHEMAS": {
        "411": "backend.common.openapi.ErrorResponse411Serializer",
        "413": "backend.common.openapi.ErrorResponse413Serializer",
        "503": "backend.common.openapi.ErrorResponse503Serializer",
    },
}

# REQUEST IDS
# https://django-guid.readthedocs.io/en/latest/settings.html
# One id per request (backend/observability/request_id.py): the REQUEST_ID_HEADER request header's
# value when REQUEST_ID_TRUST_HEADER is on and it is 1-64 of A-Z a-z 0-9 . _ : - (a UUID is one),
# otherwise a new UUID4; returned in the same header, on every log line as `request_id`, and carried
# into the Celery tasks the request enqueues. docs/operations.md, "Request ids".
REQUEST_ID_HEADER = env("REQUEST_ID_HEADER", default="X-Request-ID")
# An HTTP field name (RFC 9110 token characters) without "_": gunicorn drops request headers with one.
if not re.fullmatch(r"[A-Za-z0-9!#$%&'*+.^`|~-]+", REQUEST_ID_HEADER):
    raise ImproperlyConfigured(
        f"REQUEST_ID_HEADER must be an HTTP header name of letters, digits and '-' (not {REQUEST_ID_HEADER!r})"
    )
REQUEST_ID_TRUST_HEADER = env.bool("REQUEST_ID_TRUST_HEADER", default=True)
DJANGO_GUID = {
    "GUID_HEADER_NAME": REQUEST_ID_HEADER,
    # Screened by RequestIdMiddleware before django-guid reads it (its own check accepts only UUIDs
    # and logs a refused value as it came).
    "VALIDATE_GUID": False,
    "UUID_FORMAT": "string",
    "RETURN_HEADER": True,
    # Browsers read it through CORS_EXPOSE_HEADERS (django-guid would overwrite django-cors-headers' value).
    "EXPOSE_HEADER": False,
}
# The filter that puts `request_id` on every log record; both LOGGING dicts use it.
REQUEST_ID_LOG_FILTER = {"()": "backend.observability.request_id.RequestIdFilter"}

# CORS
# https://github.com/adamchainz/django-cors-headers
# Browser clients on other origins: only those listed (comma-separated, scheme://host[:port]), none by
# default. Credentials (cookies) are not allowed: the API authenticates with `Authorization: Token`.
CORS_ALLOWED_ORIGINS = [origin.strip() for origin in env.list("CORS_ALLOWED_ORIGINS", default=[]) if origin.strip()]
CORS_URLS_REGEX = r"^/api/"
# django-cors-headers' defaults plus the request headers this API reads: the request id, a payment's
# Idempotency-Key, and If-None-Match (hot views answer 304 to a matching ETag).
CORS_ALLOW_HEADERS = (*default_headers, REQUEST_ID_HEADER.lower(), "idempotency-key", "if-none-match")
CORS_EXPOSE_HEADERS = [REQUEST_ID_HEADER, "ETag", "Deprecation", "Sunset", "Link"]
CORS_PREFLIGHT_MAX_AGE = 600

# LOGGING
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": REQUEST_ID_LOG_FILTER},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["request_id"]}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
    # django_guid says at INFO, on every request, whether the header came: noise.
    "loggers": {"django.db.backends": {"level": "WARNING"}, "django_guid": {"level": "WARNING"}},
}

# The admin views that take a password or create an account: they share the API's `auth` limit.
AUTH_THROTTLED_VIEWS = frozenset(
    {"admin:login", "admin:password_change", "admin:auth_user_password_change", "admin:accounts_user_add"}
)

# OPS
# The platform's health probes and Prometheus's scrape (backend/ops). Middleware that records or
# samples requests (silk, say) skips these paths; production does not redirect them to HTTPS.
OPS_PATHS = ["/healthz", "/readyz", "/metrics"]
# /readyz remembers each check's outcome this many seconds per process, so anonymous callers
# cannot multiply the round trips to the database, Redis and the broker (backend/ops/probes.py).
READINESS_CACHE_SECONDS = env.float("READINESS_CACHE_SECONDS", default=1.0)

# METRICS
# https://prometheus.github.io/client_python/collector/custom/
# /metrics (backend/ops/metrics.py): a collector that reads the counters kept in Redis at scrape
# time, so every gunicorn worker gives the same answer. Off (404) unless METRICS_TOKEN is set; the
# scraper then sends `Authorization: Bearer <METRICS_TOKEN>`. Request rate and latency by route
# come from RequestMetricsMiddleware (counts carried to Redis by the process's next round trip, or
# sent after a response when the oldest has waited METRICS_FLUSH_INTERVAL seconds): outermost but for
# SecurityMiddleware (and whitenoise in production), so it times everything Django does.
# docs/operations.md.
METRICS_TOKEN = env("METRICS_TOKEN", default="")
METRICS_FLUSH_INTERVAL = env.float("METRICS_FLUSH_INTERVAL", default=1.0)
MIDDLEWARE = [MIDDLEWARE[0], "backend.ops.request_metrics.RequestMetricsMiddleware", *MIDDLEWARE[1:]]
# /readyz warns `beat_stale` when beat has sent no task for this many seconds (0: no check). Beat's
# fastest entry runs every CACHE_RECOVERY_PERIOD seconds (backend/ops/beat_heartbeat.py).
BEAT_HEARTBEAT_MAX_AGE = env.float("BEAT_HEARTBEAT_MAX_AGE", default=60.0)

# CELERY EVENTS
# https://docs.celeryq.dev/en/stable/userguide/monitoring.html#events
# Workers send task events (received, started, succeeded, failed) and clients a task-sent event, so
# Flower (the Procfile's optional `flower` process) shows every task. docs/operations.md.
CELERY_WORKER_SEND_TASK_EVENTS = True
CELERY_TASK_SEND_SENT_EVENT = True

# PAESHIFT
# Demo data refuses to load in production settings unless forced.
PAESHIFT_ALLOW_DEMO_SEED = True
