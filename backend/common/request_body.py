"""Request bodies: applied exactly as sent, or refused with a 4xx, never acknowledged and dropped.

Where each rule is enforced (docs/deployment.md, "Request bodies", has the table for operators):

- **gunicorn** (the Procfile's ``web``) refuses framing it cannot trust before Django sees the
  request: two ``Content-Length`` headers, ``Content-Length`` together with ``Transfer-Encoding``,
  a non-numeric or negative length, chunked HTTP/1.0, a transfer coding it does not know, and
  request lines or headers over its limits. ``config/gunicorn.conf.py`` writes those answers in
  the API's JSON error shape.
- **``RequestBodyMiddleware``** (below) owns the framing that reaches Django:

  ========================================================  ==========================================
  request                                                   answer
  ========================================================  ==========================================
  ``Transfer-Encoding: chunked`` (no ``Content-Length``)    de-chunked and applied, when the server
                                                            gives the whole body (gunicorn: PEP 3333's
                                                            ``wsgi.input_terminated``); else 411
  any other ``Transfer-Encoding``                           400 ``unsupported_transfer_coding``
  ``Content-Length`` not a decimal number                   400 ``invalid_content_length``
  a body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (any type)    413 ``request_too_large``
  fewer bytes than ``Content-Length`` (client hung up)      400 ``incomplete_body``
  a malformed chunk (bad size, missing terminator) or a     400 ``incomplete_body``
  chunked body the client abandoned
  ``Content-Encoding`` other than ``identity``              415 ``unsupported_content_encoding``
                                                            (with ``Accept-Encoding: identity``)
  a body where the operation takes none (GET, HEAD,         400 ``body_not_allowed``; an empty body or
  OPTIONS, DELETE, or a POST action such as ``cancel``)     ``{}`` is accepted as "no body"
  PATCH or PUT with neither ``Content-Length`` nor          411 ``length_required``: without either
  ``Transfer-Encoding``                                     header HTTP/1.1 says there is no body
                                                            (RFC 9112 section 6.3), so whatever the
                                                            client sent would be dropped (a POST
                                                            without either is read as empty)
  ========================================================  ==========================================

- **``JSONParser``** (``backend/common/parsers.py``, the API's only parser) owns the document: JSON text must be UTF-8
  (RFC 8259 section 8.1; another ``charset`` is a 415, which also keeps Python's text-transform
  codecs such as ``zlib_codec`` away from client input), a UTF-8 byte order mark is ignored (RFC
  8259 allows it), nesting deeper than Python's recursion limit, integers over Python's
  4300-digit conversion limit, ``NaN``/``Infinity`` and duplicate keys are a 400 ``parse_error``.
- **Input serializers** (``backend.common.serializers.InputSerializer``) refuse keys they do not
  declare, so a body wrapped in an envelope (``{"profile": {...}}``) is a 400, not a no-op.
"""

import io
import re

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.handlers.wsgi import LimitedStream
from django.http import UnreadablePostError

from backend.common.errors import RequestTooLarge
from backend.common.query_params import is_api_view
from backend.common.views import _error

try:  # the Procfile's server; its chunked reader raises these for framing the client got wrong
    from gunicorn.http.errors import ParseException as _GunicornParseError

    SERVER_FRAMING_ERRORS: tuple[type[Exception], ...] = (_GunicornParseError,)
except ImportError:  # another WSGI server: its errors are OSError or ValueError
    SERVER_FRAMING_ERRORS = (ValueError,)

# Methods whose requests have no defined use for a body (RFC 9110 section 9.3).
BODYLESS_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE", "TRACE"})
# Methods whose requests carry their content in the body.
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
# Of those, the ones that mean nothing without a body. (A POST without Content-Length is taken as
# empty: the test client and `curl -X POST` send one that way.)
UPDATE_METHODS = frozenset({"PUT", "PATCH"})
# What a client may send to an operation that takes no body: nothing, or an empty JSON object
# (many HTTP libraries send ``{}`` with every POST).
_EMPTY_BODY = re.compile(rb"\s*(?:\{\s*\})?\s*")


# The codes of the refusals below by the schema enum that documents them (backend.common.openapi).
INCOMPLETE_BODY = "incomplete_body"
INVALID_CONTENT_LENGTH = "invalid_content_length"
UNSUPPORTED_TRANSFER_CODING = "unsupported_transfer_coding"
UNSUPPORTED_CONTENT_ENCODING = "unsupported_content_encoding"
BODY_ERROR_CODES = {
    "ParseErrorCodeEnum": [INCOMPLETE_BODY, INVALID_CONTENT_LENGTH, UNSUPPORTED_TRANSFER_CODING],
    "ErrorCode415Enum": [UNSUPPORTED_CONTENT_ENCODING],
}


def _client_error(status: int, code: str, detail: str):
    response = _error(status, "client_error", code, detail)
    # Answered before CommonMiddleware, which would set it: without it gunicorn sends chunks.
    response["Content-Length"] = str(len(response.content))
    return response


def _too_large():
    refusal = RequestTooLarge()
    return _client_error(refusal.status_code, refusal.default_code, str(refusal.detail))


class RequestBodyMiddleware:
    """Reads every request body whole (at most ``DATA_UPLOAD_MAX_MEMORY_SIZE`` bytes) before any
    view or middleware can, and refuses the framings in the module's table.

    Place it right after ``SecurityMiddleware``: whatever runs before it must not read the body.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self._read_body(request) or self.get_response(request)

    def _read_body(self, request):
        """Make ``request.body`` the whole body as sent, or return the refusal."""
        meta = request.META
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        transfer_encoding = meta.get("HTTP_TRANSFER_ENCODING", "").strip().lower()
        declared = meta.get("CONTENT_LENGTH", "").strip()
        if transfer_encoding:
            if transfer_encoding != "chunked":
                return _client_error(400, UNSUPPORTED_TRANSFER_CODING, "Only Transfer-Encoding: chunked is accepted.")
            if declared:
                return _client_error(400, INVALID_CONTENT_LENGTH, "Send Content-Length or Transfer-Encoding, not both.")
            if not meta.get("wsgi.input_terminated"):
                # This server (runserver, say) cannot tell where a chunked body ends (PEP 3333).
                return _client_error(411, "length_required", "Send the body with a Content-Length header.")
            try:
                body = meta["wsgi.input"].read(limit + 1)
            except (OSError, *SERVER_FRAMING_ERRORS) as exc:
                # A bad chunk size, a chunk longer than it said, or the client gone mid-body: the
                # client's framing, not a server fault (it was a 500 before).
                return _client_error(
                    400, INCOMPLETE_BODY, f"The chunked body is malformed or ended early ({type(exc).__name__})."
                )
            if len(body) > limit:
                return _too_large()
            # Django read CONTENT_LENGTH (absent: 0) when it built the request, so it would see
            # no body at all; give it the de-chunked one, framed as if sent with a length.
            meta["CONTENT_LENGTH"] = str(len(body))
            request._stream = LimitedStream(io.BytesIO(body), len(body))
        elif declared:
            if not declared.isdecimal():
                # Django would read such a length as 0, and drop the body.
                return _client_error(400, INVALID_CONTENT_LENGTH, "Content-Length must be a decimal number.")
            if int(declared) > limit:
                # Every content type, multipart included (Django checks multipart per field only).
                return _too_large()
        try:
            body = request.body
        except RequestDataTooBig:
            return _too_large()
        except UnreadablePostError:
            return _client_error(400, INCOMPLETE_BODY, "The connection closed before the whole body arrived.")
        if declared and len(body) != int(declared):
            return _client_error(400, INCOMPLETE_BODY, f"Content-Length is {declared} but {len(body)} bytes arrived.")
        encoding = meta.get("HTTP_CONTENT_ENCODING", "").strip().lower()
        if body and encoding not in ("", "identity"):
            response = _client_error(
                415, UNSUPPORTED_CONTENT_ENCODING, "Request bodies are accepted without Content-Encoding only."
            )
            response["Accept-Encoding"] = "identity"  # RFC 9110 section 12.5.3
            return response
        return None

    def process_view(self, request, view_func, view_args, view_kwargs):
        view_class = getattr(view_func, "view_class", None)
        if not is_api_view(view_class) or not hasattr(view_class, request.method.lower()):
            return None  # not the API's, or a 405 that DRF answers
        takes_body = request.method in BODY_METHODS and bool(getattr(view_class, "parser_classes", ()))
        if not takes_body:
            if _EMPTY_BODY.fullmatch(request.body):
                return None
            return _client_error(400, "body_not_allowed", f"{request.method} {request.path} takes no request body.")
        meta = request.META
        if request.method in UPDATE_METHODS and not (meta.get("CONTENT_LENGTH") or meta.get("HTTP_TRANSFER_ENCODING")):
            return _client_error(
                411, "length_required", f"{request.method} needs a body: send it with a Content-Length header."
            )
        return None
