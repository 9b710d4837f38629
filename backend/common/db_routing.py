"""Reads on a PostgreSQL streaming replica where lag cannot be seen; everything else on the primary.

Configured by ``DATABASE_REPLICA_URL`` (config/settings/base.py adds the ``replica`` alias). Without
it the router answers ``default`` for every query and the middleware removes itself at start-up
(``MiddlewareNotUsed``): the same code, no extra query or round trip. docs/scaling.md, "Read replica".

Which reads go to the replica: those of a safe request (GET, HEAD, OPTIONS) once its requester is
known, unless one of these sends them to the primary:

- **the requester's own recent write** (read-your-writes). After a request with another method by
  an authenticated user, ``ReadYourWritesMiddleware`` stores the primary's WAL position
  (``pg_current_wal_insert_lsn()``, read after the request's transactions committed) in the cache under
  ``db:wrote:{user_id}`` for ``DATABASE_REPLICA_STICKY_SECONDS``, before the response leaves. A later
  request of that user reads the replica only once the replica has replayed up to that position
  (``pg_last_wal_replay_lsn()``, one query on the replica); until then, the primary. So a user's
  reads after their own acknowledged write see it whatever the lag (up to the marker's lifetime),
  and go back to the replica as soon as it has caught up rather than after a fixed window. A user
  who joined less than that lifetime ago reads the primary (registering is an anonymous request:
  nobody to mark yet). The marker lives in the shared cache, so every web process sees it: no
  cookie or header, which token-authenticated mobile clients would not carry back;
- **a cache that cannot be trusted**: when the marker cannot be read (Redis down, the breaker open,
  an invalidation lost and not replayed: ``trusted()`` of the cache backend), the primary;
- **anything that feeds a cache**: hot payloads are built inside ``primary()`` (``backend.caching.rebuild``),
  token entries too (``backend.accounts.authentication``); workers, beat and commands never run in a
  request, so they read the primary; cachalot caches only ``default``'s queries (``CACHALOT_DATABASES``),
  since its invalidations are per alias and a write to the primary would not invalidate what a
  replica read had cached;
- **the requester not known yet**: authentication's own queries (a token created a moment ago must
  be found), and views outside DRF whose user is still lazy;
- **a transaction**: a read inside ``atomic()`` on the primary (a service's read-modify-write), and
  every read of a request with a method that writes.

Why not a library: django-multidb-router (``multidb``, Mozilla's pinning router, 0.11) pins with a
cookie set after a POST and a thread-local flag; django-replicated (2.7, 2020) with cookies as well.
A cookie does not come back from the API's token clients, a fixed pinning window is either too long
(reads lost to the primary) or shorter than a lag spike (stale reads), and a thread-local flag is
not a context variable. The WAL position kept per user is GitLab's database load balancing
("sticking", https://docs.gitlab.com/development/database/load_balancing), in
about a hundred lines.
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta

from django.conf import settings
from django.core.cache import caches
from django.core.exceptions import MiddlewareNotUsed
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.utils import timezone
from django.utils.functional import LazyObject, empty

logger = logging.getLogger(__name__)

REPLICA = "replica"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# A position no replica reaches: the marker of a write whose position could not be read (the user
# then reads the primary for the marker's whole lifetime).
NEVER = "FFFFFFFF/FFFFFFFF"

# The router's own question to the replica (``replica_has_replayed``); Server-Timing's ``replica``
# entry leaves it out, so that entry counts the reads the replica answered for the application.
REPLAY_CHECK_SQL = "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn"

_primary_depth: ContextVar[int] = ContextVar("db_routing_primary", default=0)
_request_reads: ContextVar["RequestReads | None"] = ContextVar("db_routing_request", default=None)


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


def marker_key(user_id: int) -> str:
    """The cache key of a user's last write position: ``db:wrote:{user_id}``."""
    return f"db:wrote:{user_id}"


@contextmanager
def primary() -> Iterator[None]:
    """Every read of the block goes to the primary (nestable; per thread and per context)."""
    token = _primary_depth.set(_primary_depth.get() + 1)
    try:
        yield
    finally:
        _primary_depth.reset(token)


def replica_has_replayed(position: str) -> bool:
    """Whether the replica has replayed the WAL up to ``position`` (``'0/3000148'``). False when the
    replica is no standby (``pg_last_wal_replay_lsn()`` is NULL) or cannot be asked."""
    try:
        with connections[REPLICA].cursor() as cursor:
            cursor.execute(REPLAY_CHECK_SQL, [position])
            (replayed,) = cursor.fetchone()
    except DatabaseError as exc:
        logger.warning("replica's replay position unknown (%s); reading the primary", exc)
        return False
    return bool(replayed)


def _cache_trusted(cache) -> bool:
    """Whether the cache's last answer can be believed (an empty answer meant "no such key").
    ``ResilientRedisCache.trusted()`` says no while its breaker is open or an invalidation is pending."""
    trusted = getattr(cache, "trusted", None)
    return trusted is None or trusted()


def alias_for_user(user) -> str:
    """Where the reads of a safe request by ``user`` go (a replica is configured)."""
    if not user.is_authenticated:
        return REPLICA
    sticky = settings.DATABASE_REPLICA_STICKY_SECONDS
    joined = getattr(user, "date_joined", None)
    if joined is not None and timezone.now() - joined < timedelta(seconds=sticky):
        return DEFAULT_DB_ALIAS
    cache = caches["default"]
    position = cache.get(marker_key(user.pk))
    if position is None:
        return REPLICA if _cache_trusted(cache) else DEFAULT_DB_ALIAS
    return REPLICA if replica_has_replayed(position) else DEFAULT_DB_ALIAS


class RequestReads:
    """The routing of one safe request's reads: decided at its first read once the requester is known."""

    __slots__ = ("alias", "request")

    def __init__(self, request) -> None:
        self.request = request
        self.alias: str | None = None

    def alias_for_read(self) -> str:
        if self.alias is not None:
            return self.alias
        user = self.request.__dict__.get("user")  # DRF sets the authenticated user here
        if isinstance(user, LazyObject):  # django.contrib.auth's, until something evaluates it
            user = user._wrapped
        if user is None or user is empty:
            return DEFAULT_DB_ALIAS  # authentication's own reads: the primary
        self.alias = alias_for_user(user)
        return self.alias


def write_position() -> str:
    """The primary's WAL insert position (``pg_current_wal_insert_lsn()``), past every commit record
    written so far, or ``NEVER`` if it cannot be read. Not ``pg_current_wal_lsn()``, the *write*
    position: with ``synchronous_commit = off`` a commit returns before its record is written, and
    a replica could then have replayed up to the write position without the commit."""
    try:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT pg_current_wal_insert_lsn()::text")
            (position,) = cursor.fetchone()
    except DatabaseError as exc:
        logger.warning("primary's WAL position unknown (%s); the writer reads the primary for a while", exc)
        return NEVER
    return position


def mark_write(user_id: int) -> None:
    """Record that ``user_id`` has just written: their reads stay on the primary until the replica
    has replayed up to now (at most ``DATABASE_REPLICA_STICKY_SECONDS``)."""
    caches["default"].set(marker_key(user_id), write_position(), timeout=settings.DATABASE_REPLICA_STICKY_SECONDS)


class ReplicaRouter:
    """``DATABASE_ROUTERS``' one router: writes, migrations and most reads on ``default``; the reads of
    safe requests on ``replica`` as described in the module's docstring."""

    def db_for_read(self, model, **hints) -> str:
        reads = _request_reads.get()
        if reads is None or _primary_depth.get() or not replica_configured():
            return DEFAULT_DB_ALIAS
        if connections[DEFAULT_DB_ALIAS].in_atomic_block:
            return DEFAULT_DB_ALIAS
        return reads.alias_for_read()

    def db_for_write(self, model, **hints) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints) -> bool:
        return True  # one database, two copies of it

    def allow_migrate(self, db, app_label, model_name=None, **hints) -> bool:
        return db == DEFAULT_DB_ALIAS


class ReadYourWritesMiddleware:
    """Routes a safe request's reads (``RequestReads``); after any other request by an authenticated
    user, records their write position (``mark_write``) before the response leaves.

    Removed at start-up without a replica (``MiddlewareNotUsed``). Sits outside the session and
    authentication middleware, so that the session's own save is committed before the position is read.
    """

    def __init__(self, get_response) -> None:
        if not replica_configured():
            raise MiddlewareNotUsed
        self.get_response = get_response

    def __call__(self, request):
        if request.method in SAFE_METHODS:
            token = _request_reads.set(RequestReads(request))
            try:
                return self.get_response(request)
            finally:
                _request_reads.reset(token)
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            mark_write(user.pk)
        return response
