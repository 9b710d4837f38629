"""django-silk recording a request never changes its response (issue 11, kind 4).

Runs in ``make test``'s second pass, with silk recording every request on PostgreSQL
(config.settings.test_silk). Every write operation of the schema is sent hostile input: bodies,
headers, query strings, paths and methods that PostgreSQL cannot store as sent (NUL, lone
surrogates, a method longer than silk's column). Each request is sent twice, through a handler with
silk recording and through one without silk, and the two responses must be the same (status and
body), never a 5xx, and silk must have stored the request and its response.
"""

import json

import pytest
from django.conf import settings
from django.db import IntegrityError, transaction
from django.test import Client, override_settings

from backend.accounts.models import User
from backend.common.schema_view import schema_document
from config.settings.base import SILK_MIDDLEWARE

pytestmark = [pytest.mark.silk, pytest.mark.django_db]

WRITE_METHODS = ("post", "put", "patch", "delete")


def _write_operations() -> list[tuple[str, str]]:
    return [
        (method.upper(), path)
        for path, operations in schema_document()["paths"].items()
        for method in operations
        if method in WRITE_METHODS
    ]


# name -> (request changes): the example first.
HOSTILE = {
    "nul_body": {"data": b"\x00"},
    "nul_inside_a_json_string": {"data": b'{"title": "a\x00b"}'},
    "invalid_utf8_body": {"data": b'\xff\xfe{"title": 1}'},
    "latin1_body_with_nul": {"data": b'{"title": "\x00\xe9"}', "content_type": "application/json; charset=latin-1"},
    "lone_surrogate_via_charset": {
        "data": b'"\\ud800\\x00"',
        "content_type": "application/json; charset=unicode_escape",
    },
    "nul_in_a_header": {"data": b"{}", "headers": {"X-Trace": "a\x00b"}},
    "nul_in_the_query_string": {"data": b"{}", "query": "?x=%00"},
    "nul_in_the_path": {"data": b"{}", "path_suffix": "%00"},
    "long_path": {"data": b"{}", "path_suffix": "x" * 300},
    "method_longer_than_silks_column": {"data": b"{}", "method": "PROPFINDXYZ"},
}


@pytest.fixture
def silk_models():
    if "silk" not in settings.INSTALLED_APPS:
        pytest.skip("needs config.settings.test_silk")
    from silk import models

    return models


def _send(client: Client, method: str, path: str, auth: dict, variant: dict):
    return client.generic(
        variant.get("method", method),
        path + variant.get("path_suffix", "") + variant.get("query", ""),
        data=variant["data"],
        content_type=variant.get("content_type", "application/json"),
        headers={**auth, **variant.get("headers", {})},
    )


def _shape(response) -> tuple[int, object]:
    """Status and body, timestamps aside (a write sent twice stamps ``updated_at`` twice)."""

    def untimed(value):
        if isinstance(value, dict):
            return {k: None if k.endswith("_at") else untimed(v) for k, v in value.items()}
        return [untimed(v) for v in value] if isinstance(value, list) else value

    try:
        return response.status_code, untimed(json.loads(response.content))
    except ValueError:
        return response.status_code, response.content


@pytest.mark.parametrize("variant", list(HOSTILE), ids=list(HOSTILE))
@pytest.mark.parametrize(("method", "template"), _write_operations(), ids=[f"{m} {p}" for m, p in _write_operations()])
def test_silk_recording_never_changes_a_write_response(world, silk_models, method, template, variant):
    path = template
    for name, ids in world.ids().items():
        path = path.replace("{" + name + "}", str(ids[0]))
    auth = world.auth("owner")
    recorded_before = silk_models.Request.objects.count()

    # when: the same request, with silk recording and without silk
    with transaction.atomic():
        recorded = _send(Client(), method, path, auth, HOSTILE[variant])
        stored = silk_models.Request.objects.count() - recorded_before
        responses = silk_models.Response.objects.count()
        transaction.set_rollback(True)
    without_silk = [m for m in settings.MIDDLEWARE if m != SILK_MIDDLEWARE]
    with override_settings(MIDDLEWARE=without_silk), transaction.atomic():
        plain = _send(Client(), method, path, auth, HOSTILE[variant])
        transaction.set_rollback(True)

    # then: the same answer, never a 5xx, and silk kept a record of it
    assert recorded.status_code < 500, recorded.content[:300]
    assert _shape(recorded) == _shape(plain)
    assert (stored, responses) == (1, 1)


@pytest.mark.parametrize("variant", list(HOSTILE), ids=list(HOSTILE))
def test_silk_stores_what_it_recorded_of_a_hostile_request(world, silk_models, variant):
    # given: the endpoint, outside a transaction of the test's own (silk's rows stay)
    auth = world.auth("owner")

    response = _send(Client(), "PATCH", "/api/v1/me/profile/", auth, HOSTILE[variant])

    assert response.status_code < 500
    request = silk_models.Request.objects.get()
    assert silk_models.Response.objects.get(request=request).status_code == response.status_code
    assert "\x00" not in request.body + request.raw_body + request.path + request.encoded_headers


def test_a_query_that_fails_keeps_its_own_error_while_silk_records(world, silk_models):
    """silk explains each query right after it; after a failure inside a transaction the EXPLAIN
    failed too and replaced an IntegrityError (the API's 409) with an InternalError (a 500)."""
    from silk.collector import DataCollector

    Client().get("/api/v1/jobs/", headers=world.auth("owner"))  # silk now wraps the ORM's queries
    collector = DataCollector()
    collector.configure(silk_models.Request.objects.create(path="/recorded", method="POST"))
    try:
        with pytest.raises(IntegrityError), transaction.atomic():
            User.objects.filter(pk=world.worker.pk).update(email=world.owner.email)
    finally:
        collector.clear()


def test_silk_profile_runs_where_silk_records(silk_models):
    # silk_profile (docs/profiling.md: "profile one function with @silk_profile") checks that silk's
    # middleware class is installed; ours wraps it (SILKY_MIDDLEWARE_CLASS), else it logs a warning and
    # records nothing.
    from silk.profiling.profiler import silk_profile

    assert silk_profile(name="probe")._silk_installed()
    before = silk_models.Profile.objects.count()

    @silk_profile(name="probe")
    def probe():
        return 1

    from django.test import RequestFactory
    from silk.collector import DataCollector
    from silk.model_factory import RequestModelFactory

    DataCollector().configure(RequestModelFactory(RequestFactory().get("/api/v1/jobs/")).construct_request_model())
    try:
        assert probe() == 1
        DataCollector().finalise()
    finally:
        DataCollector().clear()
    assert silk_models.Profile.objects.count() == before + 1
