"""Hardening (issue 11): private responses carry ``Cache-Control: private, no-store``.

Payments, account details, anything under ``/api/v1/me/`` and the responses that carry or revoke a
token; on a hot-cache hit as on a miss, and on errors. Public resources stay cacheable.
"""

import json

import pytest

from tests.security.test_input_limits import _client

PRIVATE = [
    # (method, path, role, body, expected status)
    ("GET", "/api/v1/users/{worker}/payments/", "worker", None, 200),
    ("GET", "/users/{worker}/payments", "worker", None, 200),
    ("GET", "/api/v1/payments/{succeeded_payment}/", "owner", None, 200),
    ("POST", "/api/v1/jobs/{unreviewed_job}/payments/", "owner", {"payee": "{worker}", "amount": "5.00"}, 201),
    ("POST", "/api/v1/payments/{pending_payment}/succeed/", "staff", None, 200),
    ("GET", "/api/v1/me/account-details/", "owner", None, 200),
    ("PATCH", "/api/v1/me/account-details/", "owner", {"bank_name": "Second Bank"}, 200),
    ("GET", "/api/v1/users/{owner}/account-details/", "staff", None, 200),
    ("GET", "/get-account-details", "owner", None, 200),
    ("GET", "/api/v1/me/profile/", "owner", None, 200),
    ("PATCH", "/api/v1/me/profile/", "owner", {"bio": "private"}, 200),
    ("GET", "/api/v1/me/applications/", "worker", None, 200),
    ("GET", "/api/v1/me/applications/?upcoming=true", "worker", None, 200),
    ("GET", "/api/v1/me/jobs/", "owner", None, 200),
    ("GET", "/api/v1/me/jobs/?status=open", "owner", None, 200),
    ("GET", "/api/v1/auth/me/", "owner", None, 200),
    ("POST", "/api/v1/auth/token/", None, {"email": "client@example.com", "password": "wrong"}, 400),
    ("POST", "/api/v1/auth/register/", None, {"email": "new@example.com", "password": "unusual-passphrase-4217"}, 201),
    ("POST", "/api/v1/auth/logout/", "worker", None, 204),
    ("GET", "/api/v1/users/{worker}/payments/", "stranger", None, 404),  # an error too
]


def _send(world, method, path, role, body):
    values = world.path_values()
    if body is not None:
        body = {key: (int(value.format(**values)) if value == "{worker}" else value) for key, value in body.items()}
    return _client(world, role).generic(
        method,
        path.format(**values),
        b"" if body is None else json.dumps(body),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="private-1",
    )


@pytest.mark.parametrize(("method", "path", "role", "body", "status"), PRIVATE)
def test_a_private_response_is_private_no_store_hit_or_miss(world, method, path, role, body, status):
    # Twice: a hot GET is a miss, then a hit built from the stored bytes (backend/caching/read.py).
    for _ in range(2 if method == "GET" else 1):
        response = _send(world, method, path, role, body)

        assert response.status_code == status, response.content
        directives = {part.strip() for part in response["Cache-Control"].split(",")}
        assert {"private", "no-store"} <= directives, response["Cache-Control"]


@pytest.mark.parametrize("path", ["/api/v1/jobs/{open_job}/", "/api/v1/users/{owner}/profile/", "/api/v1/jobs/"])
def test_a_public_response_stays_cacheable(world, path):
    response = _client(world).get(path.format(**world.path_values()))

    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")
