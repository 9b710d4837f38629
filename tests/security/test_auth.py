"""Authentication under attack: every password and account endpoint is throttled per real client,
and a revoked token dies at once.

Throttling (backend/common/throttling.py): the API's register, token and logout and the admin's
login, password-change, set-password and add-user forms share the ``auth`` scope (per client address
when anonymous, per user once logged in). The test settings allow 1000 a minute so that other tests
never trip it; here the rate is 3 a minute and the fourth call is refused with a 429 in the one error
shape, with a ``Retry-After`` header, whatever the client writes into its forwarding headers.

Revocation: every cache that could remember a token is warm first (cachalot's cached token
query, the hot per-user payloads, their ETags), on the configured cache (Redis when REDIS_URL is
set); after logout the old token gets 401 everywhere, on the first request.
"""

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.assertions import assert_error
from tests.factories import PASSWORD, make_payment, make_user

RATE = 3
CLIENT = "203.0.113.7"  # the attacker's real address
_unique = itertools.count()


@pytest.fixture
def auth_rate_of_three(settings):
    # The throttles read the rates at each request, so changing the setting is enough. A day's fixed
    # window: a test's few requests never straddle two (a minute's did, now and then, and let one through).
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "auth": f"{RATE}/day"},
    }


def _assert_throttled(response) -> None:
    assert_error(response, 429, code="throttled")
    assert int(response["Retry-After"]) > 0


# --- who the client is: spoofed forwarding headers x every password or account endpoint -------

# What a client writes into its request, for its n-th attempt: each tries to look like a new client.
SPOOFS: dict[str, Callable[[int], dict[str, str]]] = {
    # the example: a different X-Forwarded-For on each request
    "new X-Forwarded-For each time": lambda n: {"X-Forwarded-For": f"198.51.100.{n}"},
    "a chain whose left entries change": lambda n: {"X-Forwarded-For": f"198.51.100.{n}, 192.0.2.{n}"},
    # two X-Forwarded-For headers: WSGI servers join them with a comma (gunicorn's wsgi.py)
    "two X-Forwarded-For headers": lambda n: {"X-Forwarded-For": f"198.51.100.{n},192.0.2.{n}"},
    "X-Real-IP": lambda n: {"X-Real-IP": f"198.51.100.{n}"},
    "Forwarded (RFC 7239)": lambda n: {"Forwarded": f"for=198.51.100.{n};proto=https"},
    "spaces and garbage": lambda n: {"X-Forwarded-For": " " * n + "not-an-address" + " ," * n},
    "the same address spelt as IPv4-mapped IPv6": lambda n: {"X-Forwarded-For": f"::ffff:198.51.100.{n}"},
}


@dataclass(frozen=True)
class Deployment:
    """How requests reach the app: ``num_proxies`` trusted proxies, each appending the address it saw."""

    num_proxies: int

    def configure(self, settings) -> None:
        """With a router, what production.py sets (DJANGO_NUM_PROXIES defaults to 1 there); else the default."""
        if self.num_proxies:
            settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": self.num_proxies}

    def environ(self, n: int, spoof: dict[str, str], client: str = CLIENT) -> dict[str, str]:
        meta = {"HTTP_" + name.upper().replace("-", "_"): value for name, value in spoof.items()}
        if self.num_proxies == 0:
            meta["REMOTE_ADDR"] = client
        else:
            # the router appends the peer it saw, and connects from one of its own addresses
            sent = meta.get("HTTP_X_FORWARDED_FOR")
            meta["HTTP_X_FORWARDED_FOR"] = f"{sent}, {client}" if sent is not None else client
            meta["REMOTE_ADDR"] = f"10.1.{n}.1"
        return meta


DEPLOYMENTS = {"no proxy (make run, tests)": Deployment(0), "one router (production default)": Deployment(1)}


def _register(world, n, meta):
    return APIClient().post("/api/v1/auth/register/", {"email": "not-an-email"}, **meta)


def _token(world, n, meta):
    return APIClient().post("/api/v1/auth/token/", {"email": world["user"].email, "password": f"guess{n}"}, **meta)


def _logout(world, n, meta):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=world['user']).key}")
    return client.post("/api/v1/auth/logout/", **meta)


def _admin_login(world, n, meta):
    return Client().post("/admin/login/", {"username": world["staff"].email, "password": f"guess{n}"}, **meta)


def _staff_client() -> Client:
    client = Client()
    client.force_login(make_user(email=f"staff{next(_unique)}@example.com", is_staff=True, is_superuser=True))
    return client


def _admin_password_change(world, n, meta):
    data = {"old_password": f"guess{n}", "new_password1": "x", "new_password2": "y"}
    return world["staff_client"].post("/admin/password_change/", data, **meta)


def _admin_set_password(world, n, meta):
    data = {"password1": "x", "password2": "y"}
    return world["staff_client"].post(f"/admin/accounts/user/{world['user'].id}/password/", data, **meta)


def _admin_add_user(world, n, meta):
    return world["staff_client"].post("/admin/accounts/user/add/", {"email": f"new{n}@example.com"}, **meta)


ENDPOINTS = {
    "POST /api/v1/auth/register/": _register,
    "POST /api/v1/auth/token/": _token,
    "POST /api/v1/auth/logout/": _logout,
    "POST /admin/login/": _admin_login,
    "POST /admin/password_change/": _admin_password_change,
    "POST /admin/accounts/user/<id>/password/": _admin_set_password,
    "POST /admin/accounts/user/add/": _admin_add_user,
}


@pytest.mark.django_db
@pytest.mark.usefixtures("auth_rate_of_three")
@pytest.mark.parametrize("deployment", DEPLOYMENTS.values(), ids=DEPLOYMENTS.keys())
@pytest.mark.parametrize("endpoint", ENDPOINTS.values(), ids=ENDPOINTS.keys())
@pytest.mark.parametrize("spoof", SPOOFS.values(), ids=SPOOFS.keys())
def test_forwarding_headers_do_not_make_a_new_client(settings, spoof, endpoint, deployment):
    # given: the deployment trusts exactly its own proxies (the settings' default without one)
    deployment.configure(settings)
    world = {"user": make_user(), "staff": make_user(is_staff=True), "staff_client": _staff_client()}

    # when: one client tries RATE times, each time looking like someone else
    for n in range(1, RATE + 1):
        response = endpoint(world, n, deployment.environ(n, spoof(n)))
        assert response.status_code != 429, (n, response.content)

    # then: the next attempt is refused, whatever it claims
    _assert_throttled(endpoint(world, RATE + 1, deployment.environ(RATE + 1, spoof(RATE + 1))))


@pytest.mark.django_db
@pytest.mark.usefixtures("auth_rate_of_three")
@pytest.mark.parametrize("deployment", DEPLOYMENTS.values(), ids=DEPLOYMENTS.keys())
def test_one_ipv6_subscriber_is_one_client_and_other_clients_are_not_held_back(settings, deployment, user):
    deployment.configure(settings)
    # a subscriber's /64 holds 2^64 addresses: each attempt from another one of them
    for n in range(1, RATE + 1):
        meta = deployment.environ(n, {}, client=f"2001:db8:7:1::{n:x}")
        assert _token({"user": user}, n, meta).status_code == 400
    _assert_throttled(_token({"user": user}, 9, deployment.environ(9, {}, client="2001:db8:7:1:ffff::9")))

    # another client, and another /64, still get through
    assert _token({"user": user}, 1, deployment.environ(1, {}, client="198.51.100.20")).status_code == 400
    assert _token({"user": user}, 1, deployment.environ(1, {}, client="2001:db8:7:2::1")).status_code == 400


@pytest.mark.django_db
@pytest.mark.usefixtures("auth_rate_of_three")
def test_showing_the_admin_login_form_is_not_an_attempt(api_client):
    for _ in range(RATE + 2):
        assert Client().get("/admin/login/").status_code == 200
    assert Client().post("/admin/login/", {"username": "a@example.com", "password": "x"}).status_code == 200


# --- the limits themselves -------------------------------------------------------------------


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
def test_register_token_and_admin_login_share_one_budget(api_client, user):
    api_client.post("/api/v1/auth/register/", {"email": "new@example.com", "password": PASSWORD})
    api_client.post("/api/v1/auth/token/", {"email": user.email, "password": PASSWORD})
    Client().post("/admin/login/", {"username": user.email, "password": "guess"})

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
