"""Request bodies framed or nested unusually: one table, sent two ways.

``tests/security/test_request_bodies.py`` sends each case through Django's test client (the WSGI
environ a server would build); ``tests/deployment/test_request_framing.py`` sends it as raw bytes
on a socket to gunicorn started from the Procfile. Every case is ``PATCH /api/v1/me/profile/``
setting ``bio`` to a fresh marker, unless it says otherwise. The rule (issue 11, kind 3): the body
is applied (read back: ``bio`` is the marker) or refused with a 4xx in the API's error shape and
nothing changed; never a 2xx with nothing changed, never a 5xx.
"""

import gzip
import zlib
from dataclasses import dataclass

PATH = "/api/v1/me/profile/"
LIMIT = 64 * 1024  # DATA_UPLOAD_MAX_MEMORY_SIZE's default
APPLIED = None


@dataclass(frozen=True)
class Case:
    id: str
    # The body, with "{marker}" where the bio's value goes; bytes are sent as they are.
    content: bytes = b'{"bio": "{marker}"}'
    # length: Content-Length; chunked: Transfer-Encoding: chunked; none: neither header;
    # short/long: Content-Length one byte less / ten bytes more than sent (the client then
    # half-closes); chunked+length, two-lengths: both framings, or two lengths that disagree.
    framing: str = "length"
    headers: tuple[tuple[str, str], ...] = (("Content-Type", "application/json"),)
    method: str = "PATCH"
    path: str = PATH
    # APPLIED, or (status, error code) of the refusal.
    expect: tuple[int, str] | None = APPLIED
    # Only meaningful on one side: "socket" (gunicorn parses the framing) or "client".
    only: str | None = None
    # The test client's server gives a chunked body whole (gunicorn does: wsgi.input_terminated).
    input_terminated: bool = True

    def body(self, marker: str) -> bytes:
        return self.content.replace(b"{marker}", marker.encode())


def _json(status: int, code: str) -> tuple[int, str]:
    return (status, code)


DEEP = b'{"bio": "{marker}", "skills": ' + b"[" * 10_000 + b"]" * 10_000 + b"}"
HUGE_INT = b'{"bio": "{marker}", "skills": [' + b"9" * 4301 + b"]}"
BIG_INT = b'{"bio": "{marker}", "hourly_rate": ' + b"9" * 4300 + b"}"

CASES = [
    # The example: chunked, no Content-Length. gunicorn hands the whole body over.
    Case("chunked", framing="chunked"),
    Case(
        "chunked-on-a-server-that-cannot-dechunk",
        framing="chunked",
        input_terminated=False,
        expect=_json(411, "length_required"),
        only="client",
    ),
    Case(
        "chunked-over-the-limit",
        content=b'{"bio": "' + b"x" * LIMIT + b'"}',
        framing="chunked",
        expect=_json(413, "request_too_large"),
    ),
    Case(
        "chunked-gzip-transfer-coding",
        framing="chunked",
        headers=(("Content-Type", "application/json"), ("Transfer-Encoding", "gzip, chunked")),
        expect=_json(400, "unsupported_transfer_coding"),
    ),
    Case(
        "unknown-transfer-coding",
        framing="chunked",
        headers=(("Content-Type", "application/json"), ("Transfer-Encoding", "foo, chunked")),
        expect=_json(400, "bad_request"),
        only="socket",
    ),
    Case("chunked-and-content-length", framing="chunked+length", expect=_json(400, "bad_request"), only="socket"),
    Case(
        "chunked-and-content-length",
        framing="chunked+length",
        expect=_json(400, "invalid_content_length"),
        only="client",
    ),
    Case("two-different-content-lengths", framing="two-lengths", expect=_json(400, "bad_request"), only="socket"),
    Case(
        "content-length-not-a-number", framing="length=+12", expect=_json(400, "invalid_content_length"), only="client"
    ),
    Case("content-length-not-a-number", framing="length=+12", expect=_json(400, "bad_request"), only="socket"),
    # Chunks the client got wrong: gunicorn's chunked reader raises (a 500 before); the wire body is
    # sent as written ("chunked-raw"), and the connection half-closes after it.
    *(
        Case(name, content=wire, framing="chunked-raw", expect=_json(400, "incomplete_body"), only="socket")
        for name, wire in (
            ("chunk-size-not-hexadecimal", b'zz\r\n{"bio": "{marker}"}\r\n0\r\n\r\n'),
            ("chunk-size-negative", b'-5\r\n{"bio": "{marker}"}\r\n0\r\n\r\n'),
            ("chunk-longer-than-its-size", b'4\r\n{"bio": "{marker}"}\r\n0\r\n\r\n'),
            ("chunked-body-abandoned-mid-chunk", b'100\r\n{"bio": "{marker}"'),
        )
    ),
    Case("no-framing-at-all", framing="none", expect=_json(411, "length_required")),
    Case("content-length-shorter-than-the-body", framing="short", expect=_json(400, "parse_error")),
    Case("content-length-longer-than-the-body", framing="long", expect=_json(400, "incomplete_body")),
    Case(
        "content-length-over-the-limit",
        content=b'{"bio": "' + b"x" * LIMIT + b'"}',
        expect=_json(413, "request_too_large"),
    ),
    Case(
        "gzip-content-encoding",
        content=gzip.compress(b'{"bio": "zipped"}'),
        headers=(("Content-Type", "application/json"), ("Content-Encoding", "gzip")),
        expect=_json(415, "unsupported_content_encoding"),
    ),
    Case(
        "deflate-content-encoding",
        content=zlib.compress(b'{"bio": "zipped"}'),
        headers=(("Content-Type", "application/json"), ("Content-Encoding", "deflate")),
        expect=_json(415, "unsupported_content_encoding"),
    ),
    Case("identity-content-encoding", headers=(("Content-Type", "application/json"), ("Content-Encoding", "identity"))),
    Case("nested-too-deeply", content=DEEP, expect=_json(400, "parse_error")),
    Case("an-integer-over-4300-digits", content=HUGE_INT, expect=_json(400, "parse_error")),
    # A decimal is a string of its documented pattern (backend.common.input): a JSON number or an exponent
    # is refused before anything converts it.
    Case("an-integer-of-4300-digits", content=BIG_INT, expect=_json(400, "invalid")),
    Case("a-huge-exponent", content=b'{"bio": "{marker}", "hourly_rate": "1e999999999"}', expect=_json(400, "invalid")),
    Case("duplicate-keys", content=b'{"bio": "{marker}", "bio": "other"}', expect=_json(400, "parse_error")),
    Case("a-utf8-byte-order-mark", content=b'\xef\xbb\xbf{"bio": "{marker}"}'),
    Case("charset-utf-8", headers=(("Content-Type", "application/json; charset=UTF-8"),)),
    Case(
        "charset-latin-1",
        headers=(("Content-Type", "application/json; charset=latin-1"),),
        expect=_json(415, "unsupported_media_type"),
    ),
    Case(
        "charset-utf-16",
        content='{"bio": "{marker}"}'.encode("utf-16"),
        headers=(("Content-Type", "application/json; charset=utf-16"),),
        expect=_json(415, "unsupported_media_type"),
    ),
    Case(
        "charset-a-decompressing-codec",
        content=zlib.compress(b'{"bio": "x"}'),
        headers=(("Content-Type", "application/json; charset=zlib_codec"),),
        expect=_json(415, "unsupported_media_type"),
    ),
    Case("not-utf-8-bytes", content=b'{"bio": "caf\xe9 {marker}"}', expect=_json(400, "parse_error")),
    Case(
        "multipart-form",
        content=b'--b\r\nContent-Disposition: form-data; name="bio"\r\n\r\n{marker}\r\n--b--\r\n',
        headers=(("Content-Type", "multipart/form-data; boundary=b"),),
        expect=_json(415, "unsupported_media_type"),
    ),
    Case(
        "urlencoded-form",
        content=b"bio={marker}",
        headers=(("Content-Type", "application/x-www-form-urlencoded"),),
        expect=_json(415, "unsupported_media_type"),
    ),
    Case("no-content-type", headers=(), expect=_json(415, "unsupported_media_type")),
    Case(
        "json-patch-media-type",
        headers=(("Content-Type", "application/json-patch+json"),),
        expect=_json(415, "unsupported_media_type"),
    ),
    Case("an-envelope", content=b'{"profile": {"bio": "{marker}"}}', expect=_json(400, "unknown_field")),
    Case("a-misspelt-key", content=b'{"boi": "{marker}"}', expect=_json(400, "unknown_field")),
    Case("a-list-not-an-object", content=b'[{"bio": "{marker}"}]', expect=_json(400, "invalid")),
    Case("a-body-on-get", method="GET", expect=_json(400, "body_not_allowed")),
    # No operation of the API takes DELETE: the method is refused first.
    Case("a-body-on-delete", method="DELETE", expect=_json(405, "method_not_allowed")),
    Case("a-body-on-options", method="OPTIONS", expect=_json(400, "body_not_allowed")),
]

# Operations that take no body, and what a body sent to them must get. `{}` counts as no body.
# (method, path, role sending it, status when it is sent with no body or `{}`).
NO_BODY_OPERATIONS = [
    ("GET", "/api/v1/jobs/", "owner", 200),
    ("GET", "/api/v1/me/account-details/", "owner", 200),
    ("GET", "/api/v1/users/{worker}/payments/", "worker", 200),
    ("POST", "/api/v1/auth/logout/", "owner", 204),
    ("POST", "/api/v1/jobs/{open_job}/cancel/", "owner", 200),
    ("POST", "/api/v1/jobs/{filled_job}/start/", "owner", 200),
    ("POST", "/api/v1/jobs/{in_progress_job}/complete/", "owner", 200),
    ("POST", "/api/v1/applications/{pending_application}/accept/", "owner", 200),
    ("POST", "/api/v1/applications/{pending_application}/reject/", "owner", 200),
    ("POST", "/api/v1/applications/{pending_application}/withdraw/", "worker", 200),
    ("POST", "/api/v1/payments/{pending_payment}/succeed/", "staff", 200),
    ("POST", "/api/v1/payments/{pending_payment}/fail/", "staff", 200),
    ("POST", "/api/v1/payments/{succeeded_payment}/refund/", "staff", 200),
]


def request_bytes(case: Case, marker: str, host: str, extra_headers: dict[str, str]) -> bytes:
    """``case`` as an HTTP/1.1 message on the wire, framed as ``case.framing`` says."""
    body = case.body(marker)
    headers = [("Host", host), ("Connection", "close"), *extra_headers.items(), *case.headers]
    framing = case.framing
    if framing == "chunked-raw":
        headers.append(("Transfer-Encoding", "chunked"))
        wire = body
    elif framing.startswith("chunked"):
        if not any(name.lower() == "transfer-encoding" for name, _ in headers):
            headers.append(("Transfer-Encoding", "chunked"))
        if framing == "chunked+length":
            headers.append(("Content-Length", str(len(body))))
        # Two chunks, so a reader that stops after the first is caught out.
        half = len(body) // 2
        wire = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:half], body[half:]) if part)
        wire += b"0\r\n\r\n"
    else:
        wire = body
        if framing == "length":
            headers.append(("Content-Length", str(len(body))))
        elif framing.startswith("length="):
            headers.append(("Content-Length", framing.removeprefix("length=")))
        elif framing == "short":
            headers.append(("Content-Length", str(len(body) - 1)))
        elif framing == "long":
            headers.append(("Content-Length", str(len(body) + 10)))
        elif framing == "two-lengths":
            headers += [("Content-Length", str(len(body))), ("Content-Length", str(len(body) + 1))]
    head = f"{case.method} {case.path} HTTP/1.1\r\n" + "".join(f"{name}: {value}\r\n" for name, value in headers)
    return head.encode("latin-1") + b"\r\n" + wire
