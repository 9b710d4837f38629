"""Authentication under attack: the auth endpoints are throttled, and a revoked token dies at once.

Throttling: register, token and logout share the ``auth`` scope (per client address for the two
anonymous endpoints, per user for logout). The test settings allow 1000 a minute so that other
tests never trip it; here the rate is 3 a minute and the fourth call is refused with a 429 in the
one error shape, with a ``Retry-After`` header.

Revocation: every cache that could remember a token is warm first (cachalot's cached token
query, the hot per-user payloads, their ETags), on the configured cache (Redis when REDIS_URL is
set); after logout the old token gets 401 everywhere, on the first request.
"""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle

from tests.assertions import assert_error
from tests.factories import PASSWORD, make_payment, make_user

RATE = 3


@pytest.fixture
def auth_rate_of_three(settings, monkeypatch):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"auth": f"{RATE}/min"}}
    # DRF copies the rates onto the throttle class when it is first imported, so the class needs
    # the new rate too.
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"auth": f"{RATE}/min"})


def _assert_throttled(response) -> None:
    assert_error(response, 429, code="throttled")
    assert int(response["Retry-After"]) > 0


@pytest.mark.django_db
@pytest.mark.usefixtures("auth_rate_of_three")
def test_registration_is_throttled_per_client_address(api_client):
    for n in range(RATE):
        response = api_client.post("/api/v1/auth/register/", {"email": f"u{n}@example.com", "password": PASSWORD})
        assert response.status_code == 201, response.content

    _assert_throttled(api_client.post("/api/v1/auth/register/", {"email": "u9@example.com", "password": PASSWORD}))
    # another address is not held back
    other = APIClient(REMOTE_ADDR="10.0.0.9")
    assert other.post("/api/v1/auth/register/", {"email": "u10@example.com", "password": PASSWORD}).status_code == 201


@pytest.mark.django_db
@pytest.mark.usefixtures("auth_rate_of_three")
def test_password_guessing_is_throttled_and_so_is_the_right_password_after_it(api_client, user):
    for _ in range(RATE):
        wrong = api_client.post("/api/v1/auth/token/", {"email": user.email, "password": "guess"})
        assert_error(wrong, 400, code="invalid_credentials")

    _assert_throttled(api_client.post("/api/v1/auth/token/", {"email": user.email, "password": PASSWORD}))


@pytest.mark.django_db
@pytest.mark.usefixtures("auth_rate_of_three")
def test_logout_is_throttled_per_user(user):
    for _ in range(RATE):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
        assert client.post("/api/v1/auth/logout/").status_code == 204

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    _assert_throttled(client.post("/api/v1/auth/logout/"))


@pytest.mark.django_db
@pytest.mark.usefixtures("auth_rate_of_three")
def test_register_token_and_logout_share_one_budget(api_client, user):
    api_client.post("/api/v1/auth/register/", {"email": "new@example.com", "password": PASSWORD})
    api_client.post("/api/v1/auth/token/", {"email": user.email, "password": PASSWORD})
    api_client.post("/api/v1/auth/token/", {"email": user.email, "password": PASSWORD})

    _assert_throttled(api_client.post("/api/v1/auth/register/", {"email": "late@example.com", "password": PASSWORD}))


@pytest.mark.django_db(transaction=True)
def test_a_revoked_token_is_refused_at_once_everywhere_even_with_every_cache_warm():
    # given: a user with payments, whose token query and hot payloads are all cached
    user = make_user(email="payer@example.com")
    make_payment(user, make_user(email="payee@example.com"))
    client = APIClient()
    token = client.post("/api/v1/auth/token/", {"email": user.email, "password": PASSWORD}).json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    paths = [
        "/api/v1/auth/me/",
        "/api/v1/me/account-details/",
        "/api/v1/me/profile/",
        f"/api/v1/users/{user.id}/payments/",
        f"/api/v1/users/{user.id}/account-details/",
        "/get-account-details",
        f"/users/{user.id}/payments",
    ]
    etags = {}
    for path in paths:
        for _ in range(2):  # cold, then warm
            response = client.get(path)
            assert response.status_code == 200, (path, response.content)
        etags[path] = response.get("ETag")
    assert etags["/api/v1/me/account-details/"], "the hot payload should be cached with an ETag"

    # when
    assert client.post("/api/v1/auth/logout/").status_code == 204

    # then: the old token is refused on every path, with or without the ETag of the cached payload
    for path in paths:
        assert_error(client.get(path), 401, code="authentication_failed")
        if etags[path]:
            assert_error(client.get(path, HTTP_IF_NONE_MATCH=etags[path]), 401, code="authentication_failed")
    assert_error(client.post("/api/v1/auth/logout/"), 401)


@pytest.mark.django_db(transaction=True)
def test_a_new_token_after_logout_works_and_the_old_one_stays_dead():
    user = make_user(email="again@example.com")
    old = APIClient()
    old_key = old.post("/api/v1/auth/token/", {"email": user.email, "password": PASSWORD}).json()["token"]
    old.credentials(HTTP_AUTHORIZATION=f"Token {old_key}")
    assert old.get("/api/v1/me/account-details/").status_code == 200
    assert old.post("/api/v1/auth/logout/").status_code == 204

    new = APIClient()
    new_key = new.post("/api/v1/auth/token/", {"email": user.email, "password": PASSWORD}).json()["token"]
    new.credentials(HTTP_AUTHORIZATION=f"Token {new_key}")

    assert new_key != old_key
    assert new.get("/api/v1/me/account-details/").status_code == 200
    assert_error(old.get("/api/v1/me/account-details/"), 401, code="authentication_failed")
