"""Routes for the previous system's paths, which its clients call with or without a trailing slash.

Both spellings answer; the schema documents the one the previous system used (the other would
only repeat it under a colliding operation id).
"""

import re

from django.urls import URLPattern, path

_UNDOCUMENTED_SPELLINGS: set[str] = set()


def legacy_paths(route: str, view, name: str) -> list[URLPattern]:
    """``route`` as the previous system spelled it, plus the same route with the slash toggled."""
    other = route.rstrip("/") if route.endswith("/") else f"{route}/"
    _UNDOCUMENTED_SPELLINGS.add(f"/{other}")
    return [path(route, view, name=name), path(other, view, name=f"{name}-alt")]


def drop_alternate_spellings(endpoints, **kwargs):
    """drf-spectacular preprocessing hook: document each legacy path once."""
    hidden = {_route_to_schema_path(route) for route in _UNDOCUMENTED_SPELLINGS}
    return [endpoint for endpoint in endpoints if endpoint[0] not in hidden]


def _route_to_schema_path(route: str) -> str:
    # "<id:user_id>" in a route is "{user_id}" in the schema.
    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)
