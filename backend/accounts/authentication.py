"""Token authentication answered from the hot store: no SQL when the token's entry is warm.

``HotTokenAuthentication`` is DRF's ``TokenAuthentication`` (same header, same 401s, same
``request.user`` and ``request.auth``) with one step before DRF's query: the ``auth:token`` entry
(``backend/accounts/hot_caches.py``, ``TOKENS``), read in one Redis round trip and used under the
rule every hot payload follows (``backend.caching.payload.servable``: current generation and epoch;
docs/caching.md, "Token authentication"):

- **hit**: the entry is servable and carries this token's digest: ``request.user`` is rebuilt from
  it (``User.from_db`` with ``TOKEN_USER_FIELDS``; the password and ``last_login`` are deferred, so
  reading them runs a query and ``save()`` writes only what was loaded). No SQL.
- **miss** (no entry, an older generation or epoch, another token's digest): the generation is read
  (created if absent) *before* DRF's query (cachalot off: its table invalidation may land after the
  generation bump at commit, as for a hot view's build), then the entry is stored under it, so a
  token revoked or a user deactivated meanwhile leaves an entry that is never served. A refusal
  (no such token, an inactive user) is stored too, like a 404: it and its generation live
  ``HOT_CACHE_NOT_FOUND_TTL`` at most (docs/caching.md, "Bounds").
- **Redis unreachable, or an invalidation lost and not yet replayed** (``outage.pending()``: the
  store answers ``reachable=False``, docs/caching.md "Failures"): DRF's query, nothing stored.

A revoked token (logout, admin, ORM delete) or a user deactivated, made staff or given a new
password invalidates the entry at commit (the registry's ``Dependency`` rows): the next request
reads the database and gets DRF's 401 (``Invalid token.``, ``User inactive or deleted.``).
"""

import hmac
import json
import time
from datetime import datetime

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

from backend.accounts.hot_caches import TOKEN_USER_FIELDS, TOKENS, token_digest, token_key_id
from backend.accounts.models import User
from backend.caching.payload import Payload, servable
from backend.caching.store import get_store, keep_prefetched
from backend.common.db_routing import primary
from backend.common.orm_cache import cachalot_off

_TOKEN_FIELDS = ("key", "user_id")
# ``Model.from_db`` takes a subset's values in the model's field order.
_USER_FIELDS = tuple(f.attname for f in User._meta.concrete_fields if f.attname in TOKEN_USER_FIELDS)
_DATE_JOINED = _USER_FIELDS.index("date_joined")
# DRF's TokenAuthentication messages (same msgids, so the same translations).
REFUSALS = {"invalid": _("Invalid token."), "inactive": _("User inactive or deleted.")}


def encode_entry(key: str, found: Token | str) -> bytes:
    """An entry's body, compact JSON: ``{"t": token digest, "u": [_USER_FIELDS values]}`` for a token
    of an active user, ``{"t": token digest, "r": "invalid" | "inactive"}`` for a refusal."""
    entry: dict = {"t": token_digest(key)}
    if isinstance(found, str):
        entry["r"] = found
    else:
        values = [getattr(found.user, name) for name in _USER_FIELDS]
        values[_DATE_JOINED] = values[_DATE_JOINED].isoformat()
        entry["u"] = values
    return json.dumps(entry, separators=(",", ":")).encode()


def decode_entry(body: bytes, key: str) -> tuple[User, Token] | str | None:
    """``(user, token)``, or the refusal (a ``REFUSALS`` key), if the entry was stored for ``key``; else None."""
    try:
        entry = json.loads(body)
        if not hmac.compare_digest(entry["t"], token_digest(key)):
            return None
        if "r" in entry:
            return entry["r"] if entry["r"] in REFUSALS else None
        values = list(entry["u"])
        if len(values) != len(_USER_FIELDS):
            return None
        values[_DATE_JOINED] = datetime.fromisoformat(values[_DATE_JOINED])
    except (ValueError, KeyError, TypeError, IndexError):
        return None
    user = User.from_db(DEFAULT_DB_ALIAS, _USER_FIELDS, values)
    token = Token.from_db(DEFAULT_DB_ALIAS, _TOKEN_FIELDS, (key, user.pk))
    token.user = user  # the relation's cache: no query for ``request.auth.user``
    return user, token


def lookup(key: str) -> Token | str:
    """The token with its user (one query, cachalot off), or the refusal: ``"invalid"`` (no such
    token), ``"inactive"`` (its user is not active). DRF's ``authenticate_credentials``, as data.
    On the primary: the answer is stored in the token's entry, and a token created or deleted a
    moment ago must be seen (``backend.common.db_routing``)."""
    with cachalot_off(), primary():
        try:
            token = Token.objects.select_related("user").get(key=key)
        except Token.DoesNotExist:
            return "invalid"
    return token if token.user.is_active else "inactive"


def _answer(found: tuple[User, Token] | Token | str) -> tuple[User, Token]:
    if isinstance(found, str):
        raise exceptions.AuthenticationFailed(REFUSALS[found])
    if isinstance(found, Token):
        return found.user, found
    return found


class HotTokenAuthentication(TokenAuthentication):
    """DRF's ``TokenAuthentication``, answered from the ``auth:token`` entry when it may be served.

    When the view is a public hot view whose key does not depend on who asks
    (``HotCachedMixin.prefetchable_hot_key``), its payload is read in the same round trip as the
    entry and kept on the request for the view (``backend.caching.store.keep_prefetched``).
    """

    def authenticate(self, request):
        self._request = request
        try:
            return super().authenticate(request)
        finally:
            self._request = None

    def authenticate_credentials(self, key: str):
        if not settings.HOT_CACHE_ENABLED:
            return super().authenticate_credentials(key)  # DRF's query, cachalot's to answer
        namespace, key_id = TOKENS.namespace, token_key_id(key)
        store = get_store()
        reads = [(namespace, key_id, False)]
        request = getattr(self, "_request", None)  # set by authenticate(); None when called directly
        view = (getattr(request, "parser_context", None) or {}).get("view")
        # A hot view (``HotCachedMixin``; not imported: DRF imports this module while it loads its views)
        prefetchable = getattr(view, "prefetchable_hot_key", None)
        payload_key = prefetchable(request) if prefetchable is not None else None
        if payload_key is not None:
            reads.append((*payload_key, True))
        results = store.read_many(reads)
        if payload_key is not None:
            keep_prefetched(request, *payload_key, results[1])
        result = results[0]
        if servable(result.payload, result.gen, result.epoch):
            found = decode_entry(result.payload.body, key)
            if found is not None:
                store.count(namespace, "hits")
                return _answer(found)
        store.count(namespace, "misses")
        if result.payload is not None:
            store.count(namespace, "stale_rejects")
        if not result.reachable:
            return _answer(lookup(key))
        gen, epoch = result.gen, result.epoch
        if gen is None:
            gen, epoch = store.ensure_generation(namespace, key_id)
            if gen is None:
                return _answer(lookup(key))
        found = lookup(key)  # after reading the generation: a revocation committed meanwhile wins
        status = 401 if isinstance(found, str) else 200
        body = encode_entry(key, found)
        payload = Payload(epoch=epoch, gen=gen, status=status, built_ms=int(time.time() * 1000), body=body)
        # A refusal lives HOT_CACHE_NOT_FOUND_TTL at most, its generation too (store()): bounded.
        store.store(namespace, key_id, payload, TOKENS.effective_ttl)
        return _answer(found)
