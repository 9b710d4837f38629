"""The rules the fault tests forced, checked in one process (no stack, no private servers).

- A lost database connection is a 503 in the API's one error shape, inside DRF and outside it.
- A process that lost writes after another process replayed the outage replays them too; one whose
  losses were all covered by that replay does not bump the epoch again.
"""

import json

import jsonschema
import pytest
from django.db import InterfaceError, OperationalError
from django.test import RequestFactory
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from rest_framework.views import APIView

from backend.caching import outage, recovery
from backend.caching.models import CacheOutage
from backend.caching.store import get_store
from backend.common.errors import ApiExceptionHandler
from backend.common.views import server_error

UNAVAILABLE = {
    "type": "server_error",
    "errors": [
        {
            "code": "service_unavailable",
            "detail": "The service is temporarily unavailable; retry shortly.",
            "attr": None,
        }
    ],
}


@pytest.mark.parametrize("error", [OperationalError("server closed the connection"), InterfaceError("closed")])
def test_a_lost_database_connection_is_a_503_in_drf_views(error):
    request = APIView().initialize_request(RequestFactory().get("/api/v1/me/profile/"))

    response = ApiExceptionHandler(error, {"request": request, "view": APIView()}).run()

    assert response.status_code == 503
    assert response.data == UNAVAILABLE
    assert response["Retry-After"] == "1"


def _json_schema(node):
    """OpenAPI 3.0's ``nullable`` as JSON Schema's ``null`` type."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _json_schema(value) for key, value in node.items()}
    if node.pop("nullable", False) and "type" in node:
        node["type"] = [node["type"], "null"]
    return node


def test_every_operation_documents_the_503_it_sends_while_the_database_is_unreachable():
    rendered = OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True))
    schema = _json_schema(json.loads(rendered))
    components = {"components": schema["components"]}
    operations = [(path, method, op) for path, item in schema["paths"].items() for method, op in item.items()]

    undocumented = [f"{method.upper()} {path}" for path, method, op in operations if "503" not in op["responses"]]

    assert len(operations) > 40
    assert not undocumented
    for path, _method, op in operations:
        if path == "/readyz":  # its 503 is its own report, naming the failing check
            assert (
                op["responses"]["503"]["content"]["application/json"]["schema"]
                == op["responses"]["200"]["content"]["application/json"]["schema"]
            )
            assert "headers" not in op["responses"]["503"]
            continue
        documented = op["responses"]["503"]
        body_schema = {**documented["content"]["application/json"]["schema"], **components}
        jsonschema.validate(UNAVAILABLE, body_schema)
        assert "Retry-After" in documented["headers"]
    with pytest.raises(jsonschema.ValidationError):  # the documented body is the 503's, not any error
        jsonschema.validate({**UNAVAILABLE, "type": "client_error"}, body_schema)


def test_a_lost_database_connection_is_a_503_outside_drf_and_anything_else_a_500():
    request = RequestFactory().get("/admin/")
    try:
        raise OperationalError("connection refused")
    except OperationalError:
        unavailable = server_error(request)  # Django calls handler500 while handling the exception
    try:
        raise ValueError("a bug")
    except ValueError:
        bug = server_error(request)

    assert (unavailable.status_code, json.loads(unavailable.content)) == (503, UNAVAILABLE)
    assert unavailable["Retry-After"] == "1"
    assert bug.status_code == 500
    assert json.loads(bug.content)["errors"][0]["code"] == "error"


@pytest.mark.django_db
def test_writes_lost_after_another_process_replayed_are_replayed_by_this_one():
    store = get_store()
    outage.record_lost_write("default", "bump failed")  # this process: a record, once per outage
    # Another process replays the outage: it bumps the epoch and consumes the record.
    assert store.bump_epoch()
    CacheOutage.objects.all().delete()
    replayed_by_the_other = store.epoch()
    outage.record_lost_write("default", "bump skipped: circuit open")  # no record of its own

    recovery.recover()  # this process's circuit closes

    assert store.epoch() != replayed_by_the_other
    assert outage.last_lost_write() is None


@pytest.mark.django_db
def test_losses_covered_by_another_process_replay_do_not_bump_the_epoch_again(monkeypatch):
    monkeypatch.setattr(recovery, "CLOCK_SKEW_NS", 0)  # one host, one clock
    store = get_store()
    outage.record_lost_write("default", "bump failed")
    assert store.bump_epoch()  # another process's replay, after this process's last loss
    CacheOutage.objects.all().delete()
    replayed_by_the_other = store.epoch()

    assert recovery.recover() == 0

    assert store.epoch() == replayed_by_the_other
    assert outage.last_lost_write() is None


@pytest.mark.django_db
def test_a_replay_bumps_once_and_clears_every_record():
    store = get_store()
    CacheOutage.objects.create(cache_alias="default", reason="seen by web.1")
    CacheOutage.objects.create(cache_alias="default", reason="seen by web.2")
    before = store.epoch()

    assert recovery.recover() == 2
    after = store.epoch()
    assert recovery.recover() == 0  # a second replay right after: nothing left, no second bump

    assert before != after == store.epoch()
    assert not CacheOutage.objects.exists()
