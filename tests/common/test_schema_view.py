"""``GET /api/schema/`` is generated once per process and served from memory (issue 11, kind 6).

Generating the 340 KB document costs about a second of CPU; on every anonymous request it let two
clients occupy both web workers.
"""

import json

import pytest
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer, OpenApiYamlRenderer

from backend.common.schema_view import clear_schema_cache

JSON = "application/vnd.oai.openapi+json"


@pytest.fixture
def generations(monkeypatch):
    """Counts the real generator's runs (each request would be one before the fix)."""
    clear_schema_cache()
    calls = []
    real = SchemaGenerator.get_schema

    def counted(self, *args, **kwargs):
        calls.append(1)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(SchemaGenerator, "get_schema", counted)
    yield calls
    clear_schema_cache()


def fresh_build(renderer) -> bytes:
    return renderer.render(SchemaGenerator().get_schema(request=None, public=True), renderer.media_type, {})


@pytest.mark.django_db
def test_the_schema_is_generated_once_whatever_the_requests_and_formats(api_client, generations):
    responses = [
        api_client.get("/api/schema/"),
        api_client.get("/api/schema/", HTTP_ACCEPT=JSON),
        api_client.get("/api/schema/?format=json"),
        api_client.get("/api/schema/", HTTP_ACCEPT="application/json; indent=8"),
        api_client.get("/api/schema/"),
    ]

    assert [r.status_code for r in responses] == [200] * 5
    assert len(generations) == 1


@pytest.mark.django_db
def test_the_served_schema_equals_a_fresh_build_in_each_format(api_client, generations):
    as_yaml = api_client.get("/api/schema/")
    as_json = api_client.get("/api/schema/", HTTP_ACCEPT=JSON)

    assert as_yaml["Content-Type"] == "application/vnd.oai.openapi; charset=utf-8"
    assert as_json["Content-Type"] == JSON
    assert as_yaml.content == fresh_build(OpenApiYamlRenderer())
    assert as_json.content == fresh_build(OpenApiJsonRenderer())
    assert json.loads(as_json.content)["paths"]  # a real document, not an empty one


@pytest.mark.django_db
def test_the_schema_carries_an_etag_and_answers_304_to_it(api_client, generations):
    first = api_client.get("/api/schema/", HTTP_ACCEPT=JSON)
    etag = first["ETag"]

    assert "Accept" in first["Vary"]
    assert api_client.get("/api/schema/", HTTP_ACCEPT=JSON, HTTP_IF_NONE_MATCH=etag).status_code == 304
    # RFC 9110: If-None-Match compares weakly
    assert api_client.get("/api/schema/", HTTP_ACCEPT=JSON, HTTP_IF_NONE_MATCH=f"W/{etag}").status_code == 304
    # each format is its own representation
    assert api_client.get("/api/schema/", HTTP_IF_NONE_MATCH=etag).status_code == 200
    assert api_client.get("/api/schema/", HTTP_ACCEPT=JSON, HTTP_IF_NONE_MATCH='"other"').status_code == 200
