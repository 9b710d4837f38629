"""Bad input of every kind is a 4xx in the one error shape, never a 500.

Run on SQLite and on PostgreSQL (DATABASE_URL): the two differ exactly where bad input hurts
(PostgreSQL refuses NUL bytes in text and timezone offsets beyond 15:59, and its integers and
numerics overflow), so every case here must be stopped before it reaches the database.
"""

import json
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from backend.jobs.models import Job
from tests.assertions import assert_error
from tests.factories import make_job, make_user
from tests.security.conftest import World

MAX_ID_18_DIGITS = 10**18 - 1


def _client(world: World, role: str | None = "owner") -> APIClient:
    client = APIClient()
    if role is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {world.tokens[role]}")
    return client


def _raw(client: APIClient, method: str, path: str, body: str, **extra):
    return client.generic(method, path, body.encode(), content_type="application/json", **extra)


def _with_raw_value(body: dict, field: str, raw_value: str) -> str:
    """``body`` as JSON text with ``field``'s value replaced by ``raw_value``, written verbatim."""
    return json.dumps({**body, field: "\x00raw"}).replace('"\\u0000raw"', raw_value, 1)


def _job_body(**overrides) -> dict:
    start = timezone.now() + timedelta(days=3)
    body = {
        "title": "Stocktake",
        "city": "Abuja",
        "pay_rate": "18.00",
        "shift_start": start.isoformat(),
        "shift_end": (start + timedelta(hours=6)).isoformat(),
        "slots": 1,
    }
    body.update(overrides)
    return body


# -- request size ----------------------------------------------------------------------------------

# Every operation that reads a request body: (method, path, role sending it).
BODY_OPERATIONS = [
    ("POST", "/api/v1/auth/register/", None),
    ("POST", "/api/v1/auth/token/", None),
    ("POST", "/api/v1/jobs/", "owner"),
    ("PATCH", "/api/v1/jobs/{open_job}/", "owner"),
    ("POST", "/api/v1/jobs/{open_job}/applications/", "stranger"),
    ("POST", "/api/v1/jobs/{unreviewed_job}/payments/", "owner"),
    ("POST", "/api/v1/jobs/{unreviewed_job}/reviews/", "owner"),
    ("PATCH", "/api/v1/me/profile/", "owner"),
    ("PATCH", "/api/v1/me/account-details/", "owner"),
]


@pytest.mark.parametrize(("method", "path", "role"), BODY_OPERATIONS)
def test_a_body_over_the_upload_limit_is_a_413(world, method, path, role):
    body = json.dumps({"description": "x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE})

    response = _raw(_client(world, role), method, path.format(**world.path_values()), body, HTTP_IDEMPOTENCY_KEY="k1")

    assert_error(response, 413, code="request_too_large")


def test_a_body_just_under_the_limit_is_read_and_validated(world):
    body = json.dumps(_job_body(description="x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE - 1000)))
    assert len(body) < settings.DATA_UPLOAD_MAX_MEMORY_SIZE

    response = _raw(_client(world), "POST", "/api/v1/jobs/", body)

    assert_error(response, 400, code="max_length", attr="description")


def test_a_form_over_the_upload_limit_outside_the_api_is_a_413_in_the_same_shape(db):
    # Multipart included: Django itself checks multipart bodies field by field only.
    response = Client().post("/admin/login/", {"username": "x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE})

    assert_error(response, 413, code="request_too_large")


# -- pages -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("page_size", ["101", "1000", str(10**30)])
def test_a_page_size_over_100_gives_100(api_client, db, page_size):
    client = make_user()
    for _ in range(101):
        make_job(client=client)

    response = api_client.get("/api/v1/jobs/", {"page_size": page_size})

    assert response.status_code == 200
    assert response.json()["count"] == 101
    assert len(response.json()["results"]) == 100
    assert response.json()["next"] == f"/api/v1/jobs/?page=2&page_size={page_size}"


@pytest.mark.parametrize("page_size", ["0", "-1", "abc", "1.5", "", "١٢", "5\x00"])
def test_a_page_size_that_is_not_a_whole_number_of_at_least_one_is_a_400(api_client, db, page_size):
    response = api_client.get("/api/v1/jobs/", {"page_size": page_size})

    assert_error(response, 400, code="invalid", attr="page_size")


@pytest.mark.parametrize("page", ["0", "-1", "abc", "2", str(10**30), "1e3", "\x00"])
@pytest.mark.parametrize(
    "path", ["/api/v1/jobs/", "/api/v1/users/{owner}/reviews/", "/api/v1/users/{owner}/payments/", "/reviews/{owner}"]
)
def test_an_invalid_page_is_a_404(world, path, page):
    response = _client(world).get(path.format(**world.path_values()), {"page": page})

    assert_error(response, 404, code="not_found")


# -- query parameters ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/api/v1/jobs/", {"stauts": "open"}),
        ("/api/v1/jobs/", {"page": "1", "limit": "5"}),
        ("/api/v1/jobs/{open_job}/", {"expand": "client"}),
        ("/api/v1/users/{owner}/payments/", {"direction": "paid"}),
        ("/api/v1/me/account-details/", {"x": ""}),
        ("/users/{owner}/payments", {"state": "pending"}),
        ("/api/v1/auth/me/", {"\x00": "1"}),
        ("/healthz", {"verbose": "1"}),
    ],
)
def test_an_unknown_query_parameter_is_a_400(world, path, query):
    response = _client(world).get(path.format(**world.path_values()), query)

    body = assert_error(response, 400, code="unknown_parameter")
    assert body["type"] == "validation_error"


def test_an_unknown_query_parameter_is_refused_on_writes_too(world):
    response = _client(world).post(f"/api/v1/jobs/{world.open_job.id}/cancel/?force=1")

    assert_error(response, 400, code="unknown_parameter")
    world.open_job.refresh_from_db()
    assert world.open_job.status == Job.Status.OPEN


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/api/v1/jobs/", {"status": "open", "city": "Lagos", "page": "1", "page_size": "5", "format": "json"}),
        ("/api/v1/jobs/{open_job}/", {"format": "json"}),
        ("/api/v1/users/{owner}/payments/", {"status": "succeeded", "page_size": "5"}),
        ("/api/v1/jobs/{open_job}/applications/", {"status": "pending"}),
    ],
)
def test_documented_query_parameters_are_accepted(world, path, query):
    response = _client(world).get(path.format(**world.path_values()), query)

    assert response.status_code == 200, response.content


@pytest.mark.parametrize(
    ("query", "attr"),
    [
        ({"city": "a\x00b"}, "city"),
        ({"search": "\x00"}, "search"),
        ({"search": "x" * 101}, "search"),
        ({"city": "x" * 81}, "city"),
        ({"status": "archived"}, "status"),
        ({"client": str(10**19)}, "client"),
        ({"client": "1.5"}, "client"),
        ({"client": "0"}, "client"),
        ({"shift_start_after": "yesterday"}, "shift_start_after"),
        ({"shift_start_before": "0001-01-01T00:00:00+05:00"}, "shift_start_before"),
        ({"shift_start_after": "9999-12-31T23:59:59-05:00"}, "shift_start_after"),
    ],
)
def test_an_invalid_filter_value_is_a_400_naming_the_parameter(api_client, db, query, attr):
    response = api_client.get("/api/v1/jobs/", query)

    assert_error(response, 400, attr=attr)


@pytest.mark.parametrize("offset", ["+20:30", "-21:19", "+15:59", "-00:01"])
def test_a_filter_time_with_any_offset_python_accepts_is_answered(api_client, db, offset):
    # PostgreSQL refuses offsets beyond 15:59 in a timestamp literal: the filter passes UTC on.
    job = make_job()

    response = api_client.get("/api/v1/jobs/", {"shift_start_after": f"2000-01-01T00:00:00{offset}"})

    assert response.status_code == 200, response.content
    assert [row["id"] for row in response.json()["results"]] == [job.id]


# -- malformed bodies ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    ['{"title": ', "{'title': 'single quotes'}", '{"pay_rate": NaN}', '{"pay_rate": Infinity}', "\x00", "\xff"],
)
def test_malformed_json_is_a_400_parse_error(world, raw):
    response = _raw(_client(world), "POST", "/api/v1/jobs/", raw)

    assert_error(response, 400, code="parse_error")


@pytest.mark.parametrize("raw", ["[]", '"a job"', "42", "null", "[{}]"])
def test_json_that_is_not_an_object_is_a_400(world, raw):
    response = _raw(_client(world), "POST", "/api/v1/jobs/", raw)

    assert_error(response, 400)


def test_a_body_that_is_not_json_is_a_415(world):
    response = _client(world).generic("POST", "/api/v1/jobs/", b"title=x", content_type="text/plain")

    assert_error(response, 415, code="unsupported_media_type")


# -- wrong types, huge numbers, negative and zero amounts -----------------------------------------


@pytest.mark.parametrize(
    ("field", "raw_value"),
    [
        ("pay_rate", '{"a": 1}'),
        ("pay_rate", "[1]"),
        ("pay_rate", "true"),
        ("pay_rate", "1e400"),
        ("pay_rate", "-1e400"),
        ("pay_rate", '"1e400"'),
        ("pay_rate", '"NaN"'),
        ("pay_rate", '"Infinity"'),
        ("pay_rate", '"-Infinity"'),
        ("pay_rate", str(10**30)),
        ("pay_rate", "0"),
        ("pay_rate", '"0.00"'),
        ("pay_rate", '"-5.00"'),
        ("pay_rate", '"1.001"'),
        ("slots", '"many"'),
        ("slots", "0"),
        ("slots", "-1"),
        ("slots", "1.5"),
        ("slots", str(10**30)),
        ("slots", "1e400"),
        ("shift_start", "12345"),
        ("shift_start", '"tomorrow"'),
        ("shift_start", '"9999-12-31T23:59:59-05:00"'),
        ("shift_start", '"0001-01-01T00:00:00+05:00"'),
        ("title", "[]"),
        ("title", "null"),
        ("title", '""'),
    ],
)
def test_a_job_with_a_wrong_type_or_an_impossible_number_is_a_400(world, field, raw_value):
    body = _with_raw_value(_job_body(), field, raw_value)

    response = _raw(_client(world), "POST", "/api/v1/jobs/", body)

    assert_error(response, 400, attr=field)
    assert not Job.objects.filter(title="Stocktake").exists()


@pytest.mark.parametrize(
    ("field", "raw_value"),
    [
        ("amount", '"0"'),
        ("amount", '"0.00"'),
        ("amount", '"-5.00"'),
        ("amount", "-5"),
        ("amount", "1e400"),
        ("amount", '"1e400"'),
        ("amount", '"NaN"'),
        ("amount", '"Infinity"'),
        ("amount", str(10**30)),
        ("amount", '"10000000000.00"'),
        ("amount", '"1.001"'),
        ("amount", "true"),
        ("amount", "[]"),
        ("payee", '"abc"'),
        ("payee", str(2**63)),
        ("payee", str(10**30)),
        ("payee", "1e400"),
        ("payee", "1.5"),
        ("payee", "0"),
        ("payee", "-1"),
        ("payee", "null"),
        ("currency", '"usd"'),
        ("currency", '"US\\u0000"'),
        ("currency", "840"),
    ],
)
def test_a_payment_with_a_wrong_type_an_impossible_number_or_no_positive_amount_is_a_400(world, field, raw_value):
    body = {"payee": world.worker.id, "amount": "50.00", "currency": "USD"}
    raw = _with_raw_value(body, field, raw_value)

    response = _raw(
        _client(world), "POST", f"/api/v1/jobs/{world.unreviewed_job.id}/payments/", raw, HTTP_IDEMPOTENCY_KEY="p-1"
    )

    assert_error(response, 400, attr=field)
    assert not world.unreviewed_job.payments.exists()


@pytest.mark.parametrize("payee", [MAX_ID_18_DIGITS, 2**63 - 1, 999_999])
def test_a_payment_to_an_unknown_payee_is_a_400_not_an_overflow(world, payee):
    response = _client(world).post(
        f"/api/v1/jobs/{world.unreviewed_job.id}/payments/",
        {"payee": payee, "amount": "50.00"},
        HTTP_IDEMPOTENCY_KEY="p-2",
    )

    assert_error(response, 400, code="invalid", attr="payee")


@pytest.mark.parametrize(
    "key", ["", " ", "has space", "x" * 256, "caf\u00e9", "nul\x00byte", "tab\tkey", "\u202egnp.exe"]
)
def test_an_idempotency_key_that_is_not_1_to_255_visible_ascii_characters_is_a_400(world, key):
    response = _client(world).post(
        f"/api/v1/jobs/{world.unreviewed_job.id}/payments/",
        {"payee": world.worker.id, "amount": "50.00"},
        HTTP_IDEMPOTENCY_KEY=key,
    )

    assert_error(response, 400, attr="Idempotency-Key")
    assert not world.unreviewed_job.payments.exists()


@pytest.mark.parametrize(
    ("field", "raw_value"),
    [
        ("rating", "0"),
        ("rating", "6"),
        ("rating", "-1"),
        ("rating", "4.5"),
        ("rating", '"4.5"'),
        ("rating", '"five"'),
        ("rating", "null"),
        ("rating", "true"),
        ("rating", str(10**30)),
        ("rating", "1e400"),
        ("rating", '"NaN"'),
        ("reviewee", str(2**63)),
        ("reviewee", "1e400"),
        ("reviewee", '"me"'),
        ("comment", '"\\u0000"'),
        ("comment", '"\\ud800"'),
        ("comment", '"' + "x" * 4001 + '"'),
    ],
)
def test_a_review_with_a_rating_outside_1_to_5_or_a_wrong_type_is_a_400(world, field, raw_value):
    body = {"reviewee": world.worker.id, "rating": 4, "comment": "Fine."}
    raw = _with_raw_value(body, field, raw_value)

    response = _raw(_client(world), "POST", f"/api/v1/jobs/{world.unreviewed_job.id}/reviews/", raw)

    assert_error(response, 400, attr=field)
    assert not world.unreviewed_job.reviews.exists()


@pytest.mark.parametrize("reviewee", [MAX_ID_18_DIGITS, 2**63 - 1, 999_999])
def test_a_review_of_an_unknown_user_is_a_400_not_an_overflow(world, reviewee):
    response = _client(world).post(
        f"/api/v1/jobs/{world.unreviewed_job.id}/reviews/", {"reviewee": reviewee, "rating": 4}
    )

    assert_error(response, 400, code="invalid", attr="reviewee")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("hourly_rate", "-1"),
        ("hourly_rate", "1e400"),
        ("hourly_rate", "NaN"),
        ("hourly_rate", "1000000.00"),
        ("skills", "python"),
        ("skills", ["ok", 5, None]),
        ("skills", ["x" * 51]),
        ("skills", ["x"] * 31),
        ("avatar_url", "javascript:alert(1)"),
        ("display_name", ""),
        ("display_name", "x" * 81),
    ],
)
def test_a_profile_update_with_a_bad_value_is_a_400(world, field, value):
    response = _client(world).patch("/api/v1/me/profile/", {field: value})

    body = assert_error(response, 400)
    assert all(error["attr"].split(".")[0] == field for error in body["errors"]), body


# -- shifts ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start_in", "length", "attr", "code"),
    [
        (timedelta(days=1), timedelta(hours=-1), "shift_end", "before_start"),
        (timedelta(days=1), timedelta(0), "shift_end", "before_start"),
        (timedelta(days=1), timedelta(hours=24, seconds=1), "shift_end", "too_long"),
        (timedelta(hours=-1), timedelta(hours=4), "shift_start", "in_past"),
    ],
)
def test_a_shift_that_ends_before_it_starts_lasts_too_long_or_is_past_is_a_400(world, start_in, length, attr, code):
    start = timezone.now() + start_in
    body = _job_body(shift_start=start.isoformat(), shift_end=(start + length).isoformat())

    response = _client(world).post("/api/v1/jobs/", body)

    assert_error(response, 400, code=code, attr=attr)


def test_moving_a_shifts_end_before_its_current_start_is_a_400(world):
    end = world.open_job.shift_start - timedelta(minutes=1)

    response = _client(world).patch(f"/api/v1/jobs/{world.open_job.id}/", {"shift_end": end.isoformat()})

    assert_error(response, 400, code="before_start", attr="shift_end")


# -- unknown and oversized ids in paths -----------------------------------------------------------

ID_PATHS = [
    ("GET", "/api/v1/jobs/{id}/"),
    ("PATCH", "/api/v1/jobs/{id}/"),
    ("POST", "/api/v1/jobs/{id}/cancel/"),
    ("GET", "/api/v1/jobs/{id}/applications/"),
    ("POST", "/api/v1/jobs/{id}/applications/"),
    ("POST", "/api/v1/jobs/{id}/payments/"),
    ("POST", "/api/v1/jobs/{id}/reviews/"),
    ("POST", "/api/v1/applications/{id}/accept/"),
    ("GET", "/api/v1/payments/{id}/"),
    ("POST", "/api/v1/payments/{id}/refund/"),
    ("GET", "/api/v1/users/{id}/profile/"),
    ("GET", "/api/v1/users/{id}/payments/"),
    ("GET", "/api/v1/users/{id}/reviews/"),
    ("GET", "/get-profile/{id}"),
    ("GET", "/jobs/{id}"),
]


@pytest.mark.parametrize("unknown", [999_999, MAX_ID_18_DIGITS, 2**63 - 1, 10**19, 10**30, "0", "-1", "1.0", "%00"])
@pytest.mark.parametrize(("method", "path"), ID_PATHS)
def test_an_unknown_or_oversized_id_in_a_path_is_a_404(client_for, staff_user, method, path, unknown):
    # Staff pass every ownership check, so nothing but the id decides the answer.
    client = client_for(staff_user)

    response = client.generic(method, path.format(id=unknown), b"{}", content_type="application/json")

    assert_error(response, 404, code="not_found")


def test_a_very_long_path_is_a_404(api_client, db):
    assert_error(api_client.get("/api/v1/jobs/" + "9" * 10_000 + "/"), 404)


# -- text: NUL bytes, surrogates, any Unicode, long strings ---------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("title", "a\x00b", "null_characters_not_allowed"),
        ("description", "\x00", "null_characters_not_allowed"),
        ("city", "La\x00gos", "null_characters_not_allowed"),
        ("address", "\x00\x00", "null_characters_not_allowed"),
        ("title", "\ud800", "surrogate_characters_not_allowed"),
        ("title", "x" * 201, "max_length"),
        ("description", "x" * 10_001, "max_length"),
    ],
)
def test_a_job_text_with_a_nul_byte_a_lone_surrogate_or_too_long_is_a_400(world, field, value, code):
    # Encoded as JSON escapes (\u0000, \ud800), the only way a client can send a lone surrogate.
    response = _raw(_client(world), "POST", "/api/v1/jobs/", json.dumps(_job_body(**{field: value})))

    assert_error(response, 400, code=code, attr=field)


@pytest.mark.parametrize(
    ("method", "path", "role", "body", "attr"),
    [
        ("POST", "/api/v1/auth/register/", None, {"email": "a\x00@example.com", "password": "p" * 12}, "email"),
        (
            "POST",
            "/api/v1/auth/register/",
            None,
            {"email": "n@example.com", "password": "pass\x00word-long"},
            "password",
        ),
        (
            "POST",
            "/api/v1/auth/register/",
            None,
            {"email": "n@example.com", "password": "unusual-passphrase-4217", "display_name": "\x00"},
            "display_name",
        ),
        ("POST", "/api/v1/auth/token/", None, {"email": "client@example.com", "password": "\x00"}, "password"),
        ("POST", "/api/v1/jobs/{open_job}/applications/", "stranger", {"cover_note": "hi\x00"}, "cover_note"),
        ("PATCH", "/api/v1/me/profile/", "owner", {"bio": "\x00"}, "bio"),
        ("PATCH", "/api/v1/me/profile/", "owner", {"skills": ["ok", "\x00"]}, "skills.1"),
        ("PATCH", "/api/v1/me/account-details/", "owner", {"bank_name": "\x00"}, "bank_name"),
        ("PATCH", "/api/v1/me/account-details/", "owner", {"account_number": "1234\x00"}, "account_number"),
    ],
)
def test_a_nul_byte_anywhere_in_a_text_input_is_a_400(world, method, path, role, body, attr):
    response = _client(world, role).generic(
        method, path.format(**world.path_values()), json.dumps(body), content_type="application/json"
    )

    assert_error(response, 400, attr=attr)


@pytest.mark.parametrize(
    "title",
    [
        "Café shift ☕ 🧑‍🍳",
        "עבודה בלילה",  # right-to-left
        "Z̷̢a̵l̶g̸o",  # combining marks
        "\u202eright-to-left override",
        "tab\tand\nnewline",
        "\U0001d518\U0001d52b\U0001d526 outside the BMP",  # mathematical letters (4 bytes in UTF-8)
    ],
)
def test_any_other_unicode_text_is_stored_and_returned_exactly(world, title):
    response = _client(world).post("/api/v1/jobs/", _job_body(title=title))

    assert response.status_code == 201, response.content
    assert response.json()["title"] == title
    assert Job.objects.get(pk=response.json()["id"]).title == title
