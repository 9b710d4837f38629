"""Routes for the previous system's paths, which its clients call with or without a trailing slash.

Both spellings answer; the schema documents the one the previous system used (the other would
only repeat it under a colliding operation id). Every response of a legacy path says it is
deprecated and when it goes, in the standard headers a client library can act on:

- ``Deprecation: @1796083200`` (RFC 9745: a Structured Field Date, Unix seconds): deprecated since
  2026-12-01T00:00:00Z;
- ``Sunset: Tue, 01 Jun 2027 00:00:00 GMT`` (RFC 8594: an HTTP-date): the paths may stop answering
  from 2027-06-01, six months later;
- ``Link: </api/docs/>; rel="deprecation"; type="text/html"`` (RFC 9745 section 3): where the
  canonical paths are documented.

The dates are fixed here (docs/api-clients.md, "Legacy paths"); moving the sunset is a code change,
so the schema, the docs and the headers cannot disagree.
"""

import calendar
import functools
import re
from datetime import UTC, datetime
from email.utils import format_datetime

from django.urls import URLPattern, path

# When the previous system's paths were deprecated, and from when they may stop answering.
DEPRECATED_AT = datetime(2026, 12, 1, tzinfo=UTC)
SUNSET_AT = datetime(2027, 6, 1, tzinfo=UTC)
DEPRECATION_HEADERS = {
    "Deprecation": f"@{calendar.timegm(DEPRECATED_AT.timetuple())}",
    "Sunset": format_datetime(SUNSET_AT, usegmt=True),
    "Link": '</api/docs/>; rel="deprecation"; type="text/html"',
}


def deprecated(view):
    """``view`` with the deprecation headers on every response (``DEPRECATION_HEADERS``)."""

    @functools.wraps(view)
    def deprecated_view(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        for name, value in DEPRECATION_HEADERS.items():
            response.headers[name] = value
        return response

    return deprecated_view


_UNDOCUMENTED_SPELLINGS: set[str] = set()


def legacy_paths(route: str, view, name: str) -> list[URLPattern]:
    """``route`` as the previous system spelled it, plus the same route with the slash toggled; both
    answer with the deprecation headers."""
    other = route.rstrip("/") if route.endswith("/") else f"{route}/"
    _UNDOCUMENTED_SPELLINGS.add(f"/{other}")
    view = deprecated(view)
    return [path(route, view, name=name), path(other, view, name=f"{name}-alt")]


def drop_alternate_spellings(endpoints, **kwargs):
    """drf-spectacular preprocessing hook: document each legacy path once."""
    hidden = {_route_to_schema_path(route) for route in _UNDOCUMENTED_SPELLINGS}
    return [endpoint for endpoint in endpoints if endpoint[0] not in hidden]


def _route_to_schema_path(route: str) -> str:
    # "<id:user_id>" in a route is "{user_id}" in the schema.
    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)
