"""The API's JSON parser: one well-formed UTF-8 JSON text, or a 4xx.

Its own module, apart from ``backend.common.request_body`` (which documents the whole policy):
DRF's ``APIView`` imports the parser classes from settings, so this module must not import views.
"""

import json

from django.utils.http import parse_header_parameters
from rest_framework import parsers
from rest_framework.exceptions import ParseError, UnsupportedMediaType
from rest_framework.utils.json import strict_constant

UTF8_NAMES = frozenset({"utf-8", "utf8"})


def _refuse_duplicate_keys(pairs: list[tuple[str, object]]) -> dict:
    """``object_pairs_hook`` for ``json.loads``: parsers disagree on which duplicate wins, so none does."""
    document = dict(pairs)
    if len(document) != len(pairs):
        seen: set[str] = set()
        duplicate = next(key for key, _ in pairs if key in seen or seen.add(key))
        raise ValueError(f"duplicate key {duplicate!r}")
    return document


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, strict about encoding, nesting and duplicate keys
    (``backend/common/request_body.py`` gives the reasons).

    Returns the parsed document (any JSON value; views validate its shape). Raises
    ``UnsupportedMediaType`` (415) for a charset other than UTF-8 and ``ParseError`` (400) for
    anything that is not one well-formed JSON text.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        _, params = parse_header_parameters(media_type or "")
        charset = params.get("charset", "utf-8").strip().lower()
        if charset not in UTF8_NAMES:
            raise UnsupportedMediaType(media_type, detail=f"JSON request bodies must be UTF-8, not {charset!r}.")
        raw = stream.read() if stream is not None else b""
        try:
            text = raw.decode("utf-8-sig")
            parse_constant = strict_constant if self.strict else None
            return json.loads(text, parse_constant=parse_constant, object_pairs_hook=_refuse_duplicate_keys)
        except RecursionError:
            raise ParseError("JSON parse error - the document is nested too deeply.") from None
        except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError included
            raise ParseError(f"JSON parse error - {exc}") from exc
