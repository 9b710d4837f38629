from decimal import Decimal

import pytest
from rest_framework.authtoken.models import Token

from backend.accounts.models import User
from backend.payments.models import Payment
from tests.assertions import assert_error
from tests.factories import PASSWORD, make_payment, make_review, make_user

pytestmark = pytest.mark.django_db


# --- register -----------------------------------------------------------------------------


def test_register_creates_user_profile_account_details_and_returns_a_working_token(api_client):
    response = api_client.post(
        "/api/v1/auth/register/", {"email": "New@Example.com", "password": PASSWORD, "display_name": "Ada"}
    )

    assert response.status_code == 201, response.content
    body = response.json()
    user = User.objects.get(email="new@example.com")
    assert body["user"] == {
        "id": user.id,
        "email": "new@example.com",
        "is_staff": False,
        "date_joined": body["user"]["date_joined"],
    }
    assert user.profile.display_name == "Ada"
    assert user.account_details.currency == "USD"
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {body['token']}")
    assert api_client.get("/api/v1/auth/me/").json()["email"] == "new@example.com"


def test_register_refuses_a_taken_email_case_insensitively(api_client, user):
    response = api_client.post("/api/v1/auth/register/", {"email": user.email.upper(), "password": PASSWORD})

    assert_error(response, 400, attr="email")
    assert User.objects.count() == 1


@pytest.mark.parametrize(
    ("payload", "attr"),
    [
        ({"password": PASSWORD}, "email"),
        ({"email": "not-an-email", "password": PASSWORD}, "email"),
        ({"email": "a@example.com"}, "password"),
        ({"email": "a@example.com", "password": "123"}, "password"),
        ({"email": "a@example.com", "password": "password"}, "password"),
        ({"email": ["a@example.com"], "password": PASSWORD}, "email"),
    ],
)
def test_register_rejects_invalid_input_without_creating_anything(api_client, payload, attr):
    response = api_client.post("/api/v1/auth/register/", payload)

    assert_error(response, 400, attr=attr)
    assert not User.objects.exists()


def test_register_rejects_malformed_json(api_client):
    response = api_client.generic("POST", "/api/v1/auth/register/", "{not json", content_type="application/json")

    assert_error(response, 400, code="parse_error")


# --- token --------------------------------------------------------------------------------


def test_token_obtain_returns_the_users_token(api_client, user, django_assert_num_queries):
    response = api_client.post("/api/v1/auth/token/", {"email": user.email, "password": PASSWORD})

    assert response.status_code == 200
    assert response.json()["token"] == Token.objects.get(user=user).key
    assert response.json()["user"]["id"] == user.id


def test_token_obtain_refuses_a_wrong_password(api_client, user):
    response = api_client.post("/api/v1/auth/token/", {"email": user.email, "password": "wrong"})

    assert_error(response, 400, code="invalid_credentials")


def test_revoked_token_stops_working_immediately(client_for, user, django_capture_on_commit_callbacks):
    client = client_for(user)
    assert client.get("/api/v1/auth/me/").status_code == 200
    assert client.get("/api/v1/auth/me/").status_code == 200  # the token's entry is warm

    with django_capture_on_commit_callbacks(execute=True):  # the logout's commit invalidates the entry
        assert client.post("/api/v1/auth/logout/").status_code == 204

    assert_error(client.get("/api/v1/auth/me/"), 401)
    assert not Token.objects.filter(user=user).exists()


def test_me_requires_authentication(api_client):
    assert_error(api_client.get("/api/v1/auth/me/"), 401, code="not_authenticated")


def test_me_costs_one_query_for_token_authentication(client_for, user, django_assert_num_queries):
    client = client_for(user)
    with django_assert_num_queries(1):
        response = client.get("/api/v1/auth/me/")
    assert response.json()["id"] == user.id


# --- profiles -----------------------------------------------------------------------------


def test_public_profile_shows_rating_summary_from_reviews(api_client, user, django_assert_num_queries):
    reviewer = make_user()
    make_review(reviewer, user, rating=4)
    make_review(reviewer, user, rating=5)

    with django_assert_num_queries(1):
        response = api_client.get(f"/api/v1/users/{user.id}/profile/")

    assert response.status_code == 200
    body = response.json()
    assert body["user_id"] == user.id
    assert body["rating_average"] == "4.50"
    assert body["rating_count"] == 2


def test_public_profile_of_a_user_without_reviews(api_client, user):
    body = api_client.get(f"/api/v1/users/{user.id}/profile/").json()

    assert body["rating_average"] is None
    assert body["rating_count"] == 0


@pytest.mark.parametrize(
    "path", ["/api/v1/users/999999/profile/", "/get-profile/999999", "/api/v1/users/99999999999999999999999/profile/"]
)
def test_unknown_profile_is_404(api_client, db, path):
    assert_error(api_client.get(path), 404, code="not_found")


def test_update_my_profile(client_for, user, django_assert_num_queries):
    client = client_for(user)
    payload = {"display_name": "Ada L.", "skills": ["forklift", "first aid"], "hourly_rate": "18.00", "city": "Abuja"}

    # token; savepoint, profile FOR UPDATE, update, the lists showing the display name (one UNION
    # query, only because the name changed), release; re-read with rating summary
    with django_assert_num_queries(7):
        response = client.patch("/api/v1/me/profile/", payload)

    assert response.status_code == 200, response.content
    assert response.json()["skills"] == ["forklift", "first aid"]
    assert response.json()["hourly_rate"] == "18.00"
    user.profile.refresh_from_db()
    assert user.profile.display_name == "Ada L."


def test_update_my_profile_without_a_new_name_costs_no_fan_out_query(client_for, user, django_assert_num_queries):
    client = client_for(user)

    # token; savepoint, profile FOR UPDATE, update, release; re-read with rating summary
    with django_assert_num_queries(6):
        response = client.patch("/api/v1/me/profile/", {"city": "Abuja", "display_name": user.profile.display_name})

    assert response.json()["city"] == "Abuja"


@pytest.mark.parametrize(
    ("payload", "attr"),
    [
        ({"hourly_rate": "-1"}, "hourly_rate"),
        ({"hourly_rate": "1e309"}, "hourly_rate"),
        ({"avatar_url": "not a url"}, "avatar_url"),
        ({"skills": "forklift"}, "skills"),
        ({"display_name": "x" * 81}, "display_name"),
    ],
)
def test_update_my_profile_rejects_invalid_input(client_for, user, payload, attr):
    response = client_for(user).patch("/api/v1/me/profile/", payload)

    assert_error(response, 400, attr=attr)


def test_my_profile_requires_authentication(api_client):
    assert_error(api_client.get("/api/v1/me/profile/"), 401)
    assert_error(api_client.patch("/api/v1/me/profile/", {"city": "x"}), 401)


# --- account details ----------------------------------------------------------------------


def test_my_account_details_show_whole_number_and_balances(client_for, user, django_assert_num_queries):
    employer = make_user()
    make_payment(payer=employer, payee=user, amount=Decimal("120.00"))
    make_payment(payer=employer, payee=user, amount=Decimal("30.50"))
    make_payment(payer=employer, payee=user, amount=Decimal("999.00"), status=Payment.Status.PENDING)
    make_payment(payer=user, payee=employer, amount=Decimal("20.00"))
    user.account_details.account_number = "GB33BUKB20201555555555"
    user.account_details.save()

    api = client_for(user)

    with django_assert_num_queries(2):
        response = api.get("/api/v1/me/account-details/")

    body = response.json()
    assert body["account_number"] == "GB33BUKB20201555555555"
    assert body["total_earned"] == "150.50"
    assert body["total_paid"] == "20.00"
    assert body["balance"] == "130.50"


def test_staff_sees_another_users_account_number_masked(client_for, user, staff_user):
    user.account_details.account_number = "12345678"
    user.account_details.save()

    response = client_for(staff_user).get(f"/api/v1/users/{user.id}/account-details/")

    assert response.status_code == 200
    assert response.json()["account_number"] == "****5678"


def test_other_users_account_details_are_404(client_for, user, other_user):
    assert_error(client_for(other_user).get(f"/api/v1/users/{user.id}/account-details/"), 404)


def test_update_my_account_details(client_for, user):
    response = client_for(user).patch(
        "/api/v1/me/account-details/", {"bank_name": "GTBank", "account_number": "0123456789", "currency": "NGN"}
    )

    assert response.status_code == 200, response.content
    assert response.json()["currency"] == "NGN"
    assert response.json()["account_number"] == "0123456789"


@pytest.mark.parametrize(
    ("payload", "attr"),
    [
        ({"currency": "usd"}, "currency"),
        ({"currency": "DOLLARS"}, "currency"),
        ({"account_number": "12-34"}, "account_number"),
    ],
)
def test_update_my_account_details_rejects_invalid_input(client_for, user, payload, attr):
    assert_error(client_for(user).patch("/api/v1/me/account-details/", payload), 400, attr=attr)


# --- legacy twins -------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["", "/"])
def test_legacy_profile_matches_canonical(api_client, user, suffix):
    canonical = api_client.get(f"/api/v1/users/{user.id}/profile/")
    legacy = api_client.get(f"/get-profile/{user.id}{suffix}")

    assert legacy.status_code == 200
    assert legacy.json() == canonical.json()


@pytest.mark.parametrize("suffix", ["", "/"])
def test_legacy_account_details_are_the_requesting_users(client_for, user, suffix):
    client = client_for(user)

    assert client.get(f"/get-account-details{suffix}").json() == client.get("/api/v1/me/account-details/").json()
