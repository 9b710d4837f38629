"""CORS for browser clients (django-cors-headers, ``CORS_ALLOWED_ORIGINS``) and the deprecation headers of
the previous system's paths (backend/common/legacy.py)."""

import calendar
from email.utils import parsedate_to_datetime

import pytest
from django.test import override_settings

from backend.common.legacy import DEPRECATED_AT, SUNSET_AT

pytestmark = pytest.mark.django_db

ALLOWED = "https://app.paeshift.example"


def _preflight(api_client, origin: str):
    return api_client.options(
        "/api/v1/jobs/",
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type, x-request-id, idempotency-key",
    )


@override_settings(CORS_ALLOWED_ORIGINS=[ALLOWED])
def test_a_preflight_from_an_allowed_origin_gets_the_cors_headers(api_client):
    response = _preflight(api_client, ALLOWED)

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == ALLOWED
    assert "POST" in response["Access-Control-Allow-Methods"]
    allowed_headers = {h.strip() for h in response["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type", "x-request-id", "idempotency-key"} <= allowed_headers
    assert "Access-Control-Allow-Credentials" not in response


@override_settings(CORS_ALLOWED_ORIGINS=[ALLOWED])
def test_a_preflight_from_another_origin_gets_none(api_client):
    response = _preflight(api_client, "https://evil.example")

    assert "Access-Control-Allow-Origin" not in response
    assert "Access-Control-Allow-Methods" not in response


def test_no_origin_is_allowed_by_default(api_client, settings):
    assert settings.CORS_ALLOWED_ORIGINS == []
    assert "Access-Control-Allow-Origin" not in _preflight(api_client, ALLOWED)


@override_settings(CORS_ALLOWED_ORIGINS=[ALLOWED])
def test_an_allowed_origin_can_read_the_request_id(api_client):
    response = api_client.get("/api/v1/jobs/", HTTP_ORIGIN=ALLOWED)

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == ALLOWED
    assert "X-Request-ID" in response["Access-Control-Expose-Headers"]
    assert response["X-Request-ID"]


@pytest.mark.parametrize("suffix", ["", "/"])
def test_legacy_paths_say_they_are_deprecated_and_when_they_go(api_client, user, suffix):
    legacy = api_client.get(f"/get-profile/{user.id}{suffix}")
    canonical = api_client.get(f"/api/v1/users/{user.id}/profile/")

    assert legacy.status_code == 200
    # RFC 9745: "@" and Unix seconds; RFC 8594: an HTTP-date, after the deprecation.
    assert legacy["Deprecation"] == f"@{calendar.timegm(DEPRECATED_AT.timetuple())}" == "@1796083200"
    assert legacy["Sunset"] == "Tue, 01 Jun 2027 00:00:00 GMT"
    assert parsedate_to_datetime(legacy["Sunset"]) == SUNSET_AT > DEPRECATED_AT
    assert legacy["Link"] == '</api/docs/>; rel="deprecation"; type="text/html"'
    for header in ("Deprecation", "Sunset"):
        assert header not in canonical


def test_a_legacy_error_is_deprecated_too(api_client):
    response = api_client.get("/get-account-details")  # no token

    assert response.status_code == 401
    assert response["Deprecation"] == "@1796083200"
