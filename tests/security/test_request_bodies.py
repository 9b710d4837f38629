"""Kind 3 of issue 11 through Django's test client: a body is applied or refused, never dropped.

The table (``tests/security/body_cases.py``) is shared with the raw-socket test against gunicorn
(``tests/deployment/test_request_framing.py``); here each case becomes the WSGI environ a server
builds for it (a chunked body arrives de-chunked with ``wsgi.input_terminated``, as gunicorn
gives it; without that flag, as under runserver, the server cannot give it whole).
"""

import io
import json
import secrets

import pytest
from rest_framework.test import APIClient

from backend.jobs.models import Job
from tests.assertions import assert_error
from tests.security.body_cases import CASES, NO_BODY_OPERATIONS, Case
from tests.security.test_input_limits import BODY_OPERATIONS, _client

CLIENT_CASES = [case for case in CASES if case.only != "socket"]


def environ(case: Case, body: bytes) -> dict:
    """What a WSGI server puts in the environ for ``case`` (the test client builds the rest)."""
    headers = dict(case.headers)
    extra = {"CONTENT_TYPE": headers.pop("Content-Type", ""), "wsgi.input": io.BytesIO(body)}
    for name, value in headers.items():
        extra["HTTP_" + name.upper().replace("-", "_")] = value
    framing = case.framing
    if framing.startswith("chunked"):
        extra.setdefault("HTTP_TRANSFER_ENCODING", "chunked")
        extra["CONTENT_LENGTH"] = str(len(body)) if framing == "chunked+length" else ""
        extra["wsgi.input_terminated"] = case.input_terminated
    elif framing == "none":
        extra["CONTENT_LENGTH"] = ""
    elif framing.startswith("length="):
        extra["CONTENT_LENGTH"] = framing.removeprefix("length=")
    elif framing == "short":
        extra["CONTENT_LENGTH"] = str(len(body) - 1)
    elif framing == "long":
        extra["CONTENT_LENGTH"] = str(len(body) + 10)
    else:
        extra["CONTENT_LENGTH"] = str(len(body))
    return extra


def send(client: APIClient, case: Case, body: bytes, **headers):
    extra = environ(case, body)
    return client.generic(case.method, case.path, body, content_type=extra.pop("CONTENT_TYPE"), **extra, **headers)


@pytest.mark.parametrize("case", CLIENT_CASES, ids=[case.id for case in CLIENT_CASES])
def test_a_body_framed_or_nested_unusually_is_applied_or_refused(world, case):
    # given
    client = _client(world)
    profile = world.owner.profile
    before = profile.bio
    marker = f"bio-{secrets.token_hex(4)}"

    # when
    response = send(client, case, case.body(marker))

    # then
    # From the database: outside a real commit (pytest-django's test transaction) the hot cache
    # is not invalidated, and the database is what was applied.
    profile.refresh_from_db()
    after = profile.bio
    if case.expect is None:
        assert response.status_code == 200, response.content
        assert after == marker
    else:
        status, code = case.expect
        assert_error(response, status, code=code)
        assert after == before


@pytest.mark.parametrize(("method", "path", "role"), BODY_OPERATIONS)
def test_a_chunked_body_gets_the_answer_its_content_length_twin_gets(world, method, path, role):
    # An unknown key makes every operation refuse the body with a 400 that names it; had the
    # chunked body been dropped, the answer would differ (a 200, or errors for missing fields).
    body = json.dumps({"unknown_key": 1}).encode()
    path = path.format(**world.path_values())
    answers = []
    for framing in ("length", "chunked"):
        case = Case("twin", method=method, path=path, framing=framing)
        response = send(_client(world, role), case, body, HTTP_IDEMPOTENCY_KEY=f"k-{framing}")
        answers.append((response.status_code, response.json()))

    assert answers[0] == answers[1]
    assert answers[0][0] == 400
    expected = {"code": "unknown_field", "detail": "Unknown field: 'unknown_key'.", "attr": "non_field_errors"}
    assert expected in answers[0][1]["errors"]


@pytest.mark.parametrize(("method", "path", "role", "status"), NO_BODY_OPERATIONS)
def test_an_operation_that_takes_no_body_refuses_one(world, method, path, role, status):
    path = path.format(**world.path_values())

    response = _client(world, role).generic(method, path, b'{"reason": "too late"}', content_type="application/json")

    assert_error(response, 400, code="body_not_allowed")
    world.open_job.refresh_from_db()
    assert world.open_job.status == Job.Status.OPEN


@pytest.mark.parametrize("body", [b"", b"{}", b" { } \n"])
@pytest.mark.parametrize(("method", "path", "role", "status"), NO_BODY_OPERATIONS)
def test_an_operation_that_takes_no_body_accepts_an_empty_one_or_an_empty_object(
    world, method, path, role, status, body
):
    response = _client(world, role).generic(
        method, path.format(**world.path_values()), body, content_type="application/json"
    )

    assert response.status_code == status, response.content
