"""django-silk's middleware, made harmless: whatever a request carries, recording it never changes
the response's status or body (issue 11, kind 4).

Where silk (5.x) writes, and how each write failed a request before:

- **The request**, stored when it arrives, before the view (path, method, headers, query string,
  body and raw body), in one INSERT outside any ``try``: a failure there escaped the middleware as
  a 500. PostgreSQL refuses strings a client controls: NUL anywhere (a body that is not JSON is
  stored as sent; ``%00`` in a path), lone surrogates (a body decoded with a charset the client
  names, such as ``unicode_escape``), and a method longer than the column's 10 characters.
- **The response and the queries**, stored after the view (status, headers, body; each ORM
  query's SQL with its parameters inlined, its traceback and its EXPLAIN). silk itself catches
  database errors there, but then silently drops the record.
- **The EXPLAIN of each query**, run right after the query inside the request's own transaction.
  When the query fails inside a transaction, the EXPLAIN fails too (the transaction is aborted)
  and its error replaces the query's: an ``IntegrityError``, which the API answers with a 409,
  became an ``InternalError`` and a 500.

So every string silk stores is made storable first (``storable``), silk's write of the request
runs in a savepoint whose failure is logged and leaves the request unrecorded, the write of the
response is guarded the same way, and a query that failed is not explained. silk's other
behaviour (sampling, masking of credentials, body caps) is unchanged.

Imports silk: referenced by name from settings only where silk is installed
(``config.settings.base.with_silk_middleware``).
"""

import logging
import sys

from django.apps import apps
from django.db import DatabaseError, router, transaction
from django.db.models import CharField, TextField
from django.db.models.signals import pre_save
from silk import sql as silk_sql
from silk.collector import DataCollector
from silk.middleware import SilkyMiddleware
from silk.models import Request

logger = logging.getLogger(__name__)

_silk_explain = silk_sql._explain_query


def storable(value: str, max_length: int | None = None) -> str:
    """``value`` as PostgreSQL can store it in a text column: NUL written as the six characters
    ``\\u0000``, lone surrogates as ``\\udXXX`` escapes, cut to ``max_length`` characters.

    The text stays readable in silk's UI and is otherwise unchanged (most values are returned as
    they are, after one scan).
    """
    if "\x00" in value:
        value = value.replace("\x00", "\\u0000")
    if not value.isascii():
        value = value.encode("utf-8", "backslashreplace").decode("utf-8")
    if max_length is not None and len(value) > max_length:
        value = value[:max_length]
    return value


def _make_storable(sender, instance, **kwargs) -> None:
    """``pre_save`` of silk's models: every text field of the row made storable."""
    for field in instance._meta.concrete_fields:
        if not isinstance(field, CharField | TextField):
            continue
        value = getattr(instance, field.attname)
        if isinstance(value, bytes):  # silk keeps a body it could not decode as bytes
            value = value.decode("utf-8", "backslashreplace")
        if isinstance(value, str):
            limit = field.max_length if isinstance(field, CharField) else None
            setattr(instance, field.attname, storable(value, limit))


def _make_queries_storable(collector: DataCollector) -> None:
    """silk stores its queries with ``bulk_create``, which sends no ``pre_save``: their text is made
    storable where silk keeps it until then."""
    for query in collector.queries.values():
        for key in ("query", "traceback", "analysis"):
            if isinstance(query.get(key), str):
                query[key] = storable(query[key])


def _explain_unless_failed(connection, query, params):
    """silk's EXPLAIN of a query it recorded, skipped when the query itself failed.

    silk calls this from a ``finally`` clause: while the query's own exception propagates, it is
    in ``sys.exc_info()``, and an EXPLAIN would either fail the same way (autocommit) or fail
    because the transaction is aborted, replacing the query's exception with its own. An EXPLAIN
    of a query that has just run with the same parameters is only planned, so it has nothing left
    to fail on but the connection itself; outside a transaction such a failure is logged and
    dropped. Inside one it propagates: the transaction is then broken for the request anyway, and
    swallowing the error would only move it to the next statement.
    """
    if sys.exc_info()[1] is not None:
        return None
    try:
        return _silk_explain(connection, query, params)
    except DatabaseError:
        if connection.in_atomic_block:
            raise
        logger.warning("silk could not EXPLAIN a query; recorded without a plan", exc_info=True)
        return None


def _install_guards() -> None:
    silk_sql._explain_query = _explain_unless_failed
    for model in apps.get_app_config("silk").get_models():
        pre_save.connect(_make_storable, sender=model, dispatch_uid=f"silk-storable-{model._meta.label}")


class SilkRecordingMiddleware(SilkyMiddleware):
    """silk's middleware whose recording never changes a response (see the module docstring)."""

    def __init__(self, get_response):
        super().__init__(get_response)
        _install_guards()

    def process_request(self, request) -> None:
        try:
            # A savepoint: a refused INSERT must not abort a transaction the request is already in.
            with transaction.atomic(using=router.db_for_write(Request)):
                super().process_request(request)
        except Exception:
            logger.warning(
                "silk could not record a request to %s; it is served unrecorded", request.path[:200], exc_info=True
            )
            request.silk_is_intercepted = False
            DataCollector().clear()

    def process_response(self, request, response):
        if not getattr(request, "silk_is_intercepted", False):
            return response
        try:
            _make_queries_storable(DataCollector())
            # silk writes the response and the queries in a transaction of its own and retries a
            # database error once; anything else it raises is caught here.
            return super().process_response(request, response)
        except Exception:
            logger.warning("silk could not record the response to %s", request.path[:200], exc_info=True)
            return response
