import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from backend.common.pagination import first_page
from backend.jobs.models import Application, Job
from backend.payments.models import Payment
from backend.payments.selectors import payment_list_for_user
from backend.payments.serializers import PaymentListItemSerializer
from backend.payments.services import payment_create
from tests.assertions import assert_error
from tests.factories import make_application, make_completed_job, make_job, make_payment, make_user

pytestmark = pytest.mark.django_db


def _payments_url(user_id: int) -> str:
    return f"/api/v1/users/{user_id}/payments/"


def _pay_url(job_id: int) -> str:
    return f"/api/v1/jobs/{job_id}/payments/"


def _pay(client, job, payee, key="key-1", **body):
    payload = {"payee": payee.id, "amount": "100.00", **body}
    return client.post(_pay_url(job.id), payload, HTTP_IDEMPOTENCY_KEY=key)


def _many_payments(user, n: int) -> None:
    """``n`` payments of ``user``: every third one paid by them, the rest received."""
    for i in range(n):
        other = make_user()
        if i % 3 == 0:
            make_payment(payer=user, payee=other)
        else:
            make_payment(payer=other, payee=user)


@pytest.fixture
def worker(db):
    return make_user(email="worker@example.com")


@pytest.fixture
def completed_job(user, worker):
    return make_completed_job(client=user, workers=[worker], title="Night shift")


# --- a user's payments ----------------------------------------------------------------------


def test_user_payments_lists_paid_and_received_newest_first(client_for, user, other_user):
    # given
    received = make_payment(payer=other_user, payee=user, amount=Decimal("80.00"))
    paid = make_payment(payer=user, payee=other_user, amount=Decimal("25.50"), status=Payment.Status.PENDING)
    make_payment(payer=other_user, payee=make_user())  # not theirs

    # when
    response = client_for(user).get(_payments_url(user.id))

    # then
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["count"] == 2
    assert [item["id"] for item in body["results"]] == [paid.id, received.id]
    assert body["results"][0] == {
        "id": paid.id,
        "job": {"id": paid.job_id, "title": paid.job.title},
        "payer": {"id": user.id, "display_name": user.profile.display_name},
        "payee": {"id": other_user.id, "display_name": other_user.profile.display_name},
        "direction": "paid",
        "amount": "25.50",
        "currency": "USD",
        "status": "pending",
        "created_at": body["results"][0]["created_at"],
        "updated_at": body["results"][0]["updated_at"],
    }
    assert body["results"][1]["direction"] == "received"
    assert body["results"][1]["amount"] == "80.00"
    assert body["results"][1]["status"] == "succeeded"


def test_user_payments_order_by_creation_time_not_id(client_for, user, other_user):
    older = make_payment(payer=other_user, payee=user)
    newer = make_payment(payer=other_user, payee=user)
    Payment.objects.filter(pk=newer.pk).update(created_at=timezone.now() - timedelta(days=3))
    Payment.objects.filter(pk=older.pk).update(created_at=timezone.now() - timedelta(days=1))

    results = client_for(user).get(_payments_url(user.id)).json()["results"]

    assert [item["id"] for item in results] == [older.id, newer.id]


def test_direction_is_relative_to_the_user_in_the_path(client_for, user, other_user, staff_user):
    make_payment(payer=user, payee=other_user)
    staff = client_for(staff_user)

    assert staff.get(_payments_url(user.id)).json()["results"][0]["direction"] == "paid"
    assert staff.get(_payments_url(other_user.id)).json()["results"][0]["direction"] == "received"


def test_user_payments_require_authentication(api_client, user):
    assert_error(api_client.get(_payments_url(user.id)), 401, code="not_authenticated")


def test_a_user_never_sees_another_users_payments(client_for, user, other_user):
    make_payment(payer=user, payee=make_user())
    make_payment(payer=make_user(), payee=user)

    response = client_for(other_user).get(_payments_url(user.id))

    assert_error(response, 404, code="not_found")


def test_a_user_sees_a_payment_to_them_only_in_their_own_list(client_for, user, other_user):
    # other_user is the payee of one of user's payments: still no access to user's list
    make_payment(payer=user, payee=other_user)

    assert_error(client_for(other_user).get(_payments_url(user.id)), 404)
    assert client_for(other_user).get(_payments_url(other_user.id)).json()["count"] == 1


def test_staff_sees_any_users_payments(client_for, user, other_user, staff_user):
    payment = make_payment(payer=other_user, payee=user)

    response = client_for(staff_user).get(_payments_url(user.id))

    assert response.status_code == 200
    assert [item["id"] for item in response.json()["results"]] == [payment.id]


def test_staff_sees_a_deactivated_users_payments(client_for, user, other_user, staff_user):
    make_payment(payer=other_user, payee=user)
    user.is_active = False
    user.save()

    assert client_for(staff_user).get(_payments_url(user.id)).json()["count"] == 1


@pytest.mark.parametrize("user_id", [999999, 999999999999999999])
def test_payments_of_an_unknown_user_are_404_for_staff(client_for, staff_user, user_id):
    assert_error(client_for(staff_user).get(_payments_url(user_id)), 404, code="not_found")


def test_payments_of_an_unknown_user_are_404_for_a_user(client_for, user):
    assert_error(client_for(user).get(_payments_url(999999)), 404, code="not_found")


def test_an_id_longer_than_18_digits_is_404(client_for, staff_user):
    assert_error(client_for(staff_user).get(_payments_url(10**19)), 404, code="not_found")


def test_a_user_without_payments_gets_an_empty_page(client_for, user):
    body = client_for(user).get(_payments_url(user.id)).json()

    assert body == {"count": 0, "next": None, "previous": None, "results": []}


@pytest.mark.parametrize("wanted", ["pending", "succeeded", "failed", "refunded"])
def test_user_payments_filter_by_status(client_for, user, other_user, wanted):
    for status in Payment.Status.values:
        make_payment(payer=other_user, payee=user, status=status)

    body = client_for(user).get(_payments_url(user.id), {"status": wanted}).json()

    assert body["count"] == 1
    assert body["results"][0]["status"] == wanted


@pytest.mark.parametrize("status", ["paid", "PENDING", "", "pending,failed"])
def test_user_payments_reject_an_unknown_status(client_for, user, status):
    response = client_for(user).get(_payments_url(user.id), {"status": status})

    if status == "":  # an empty filter is no filter
        assert response.status_code == 200
    else:
        assert_error(response, 400, attr="status")


def test_user_payments_are_paginated_with_canonical_links(client_for, user):
    _many_payments(user, 25)
    client = client_for(user)

    first = client.get(_payments_url(user.id)).json()
    second = client.get(_payments_url(user.id), {"page": 2}).json()

    assert first["count"] == 25
    assert len(first["results"]) == 20
    assert first["next"] == f"/api/v1/users/{user.id}/payments/?page=2"
    assert first["previous"] is None
    assert len(second["results"]) == 5
    assert second["next"] is None
    assert second["previous"] == f"/api/v1/users/{user.id}/payments/"
    ids = [item["id"] for item in first["results"] + second["results"]]
    assert len(set(ids)) == 25


def test_user_payments_page_past_the_end_is_404(client_for, user):
    make_payment(payer=make_user(), payee=user)

    assert_error(client_for(user).get(_payments_url(user.id), {"page": 2}), 404)


@pytest.mark.parametrize("rows", [1, 25])
def test_user_payments_query_count_for_the_owner(client_for, user, rows, django_assert_num_queries):
    _many_payments(user, rows)
    client = client_for(user)

    # token, count, page (the owner's token proves they exist)
    with django_assert_num_queries(3):
        response = client.get(_payments_url(user.id))

    assert response.json()["count"] == rows


@pytest.mark.parametrize("rows", [1, 25])
def test_user_payments_query_count_for_staff(client_for, user, staff_user, rows, django_assert_num_queries):
    _many_payments(user, rows)
    client = client_for(staff_user)

    # token, count, page (a user with payments exists; the existence query runs only for none)
    with django_assert_num_queries(3):
        response = client.get(_payments_url(user.id))

    assert response.json()["count"] == rows


def test_user_payments_first_page_matches_the_cache_builders_rendering(client_for, user):
    """The hot cache renders the first page with ``first_page``; the endpoint must answer the same bytes."""
    _many_payments(user, 25)

    response = client_for(user).get(_payments_url(user.id))

    built = first_page(
        payment_list_for_user(user_id=user.id),
        serializer_class=PaymentListItemSerializer,
        base_path=_payments_url(user.id),
    )
    assert response.json() == json.loads(json.dumps(built, default=str))
    assert list(response.json()) == list(built)


# --- legacy twin ----------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["", "/"])
def test_legacy_user_payments_match_canonical(client_for, user, suffix):
    _many_payments(user, 25)
    client = client_for(user)

    canonical = client.get(_payments_url(user.id))
    legacy = client.get(f"/users/{user.id}/payments{suffix}")

    assert legacy.status_code == 200
    assert legacy.content == canonical.content
    assert legacy.json()["next"] == f"/api/v1/users/{user.id}/payments/?page=2"


@pytest.mark.parametrize("suffix", ["", "/"])
def test_legacy_user_payments_keep_the_permissions(api_client, client_for, user, other_user, staff_user, suffix):
    make_payment(payer=other_user, payee=user)
    path = f"/users/{user.id}/payments{suffix}"

    assert_error(api_client.get(path), 401)
    assert_error(client_for(other_user).get(path), 404)
    assert client_for(staff_user).get(path).status_code == 200
    assert_error(client_for(staff_user).get(f"/users/999999/payments{suffix}"), 404)


@pytest.mark.parametrize("suffix", ["", "/"])
def test_legacy_user_payments_query_count(client_for, user, suffix, django_assert_num_queries):
    _many_payments(user, 25)
    client = client_for(user)

    with django_assert_num_queries(3):
        client.get(f"/users/{user.id}/payments{suffix}")


# --- paying for a job -----------------------------------------------------------------------


def test_pay_an_accepted_worker_of_a_completed_job(client_for, user, worker, completed_job):
    # given
    user.account_details.currency = "NGN"
    user.account_details.save()

    # when
    response = _pay(client_for(user), completed_job, worker, amount="150.75")

    # then
    assert response.status_code == 201, response.content
    payment = Payment.objects.get()
    body = response.json()
    assert body == {
        "id": payment.id,
        "job": {"id": completed_job.id, "title": "Night shift"},
        "payer": {"id": user.id, "display_name": user.profile.display_name},
        "payee": {"id": worker.id, "display_name": worker.profile.display_name},
        "amount": "150.75",
        "currency": "NGN",
        "status": "pending",
        "created_at": body["created_at"],
        "updated_at": body["updated_at"],
    }
    assert payment.amount == Decimal("150.75")
    assert payment.currency == "NGN"
    assert payment.status == Payment.Status.PENDING
    assert payment.idempotency_key == "key-1"


def test_pay_in_an_explicit_currency(client_for, user, worker, completed_job):
    response = _pay(client_for(user), completed_job, worker, currency="EUR")

    assert response.status_code == 201
    assert response.json()["currency"] == "EUR"


def test_pay_refuses_a_json_number_amount(client_for, user, worker, completed_job):
    # The schema documents an amount as a decimal string (a JSON number may not hold cents exactly).
    response = _pay(client_for(user), completed_job, worker, amount=42)

    assert_error(response, 400, code="invalid", attr="amount")
    assert not Payment.objects.exists()


def test_pay_query_count(client_for, user, worker, completed_job, django_assert_num_queries):
    client = client_for(user)

    # token; job with client profile and account details; SAVEPOINT (service); the job's row lock
    # (the payment ceiling); payee with the accepted-worker, idempotency-key and ceiling checks;
    # SAVEPOINT, INSERT, RELEASE (the insert's own savepoint); RELEASE. Data queries: 4 (savepoints
    # are transaction control).
    with django_assert_num_queries(9):
        response = _pay(client, completed_job, worker)

    assert response.status_code == 201


def test_pay_twice_with_the_same_key_creates_one_payment(client_for, user, worker, completed_job):
    client = client_for(user)

    first = _pay(client, completed_job, worker, key="retry-me")
    second = _pay(client, completed_job, worker, key="retry-me")

    assert first.status_code == 201
    assert second.status_code == 200
    assert second.json() == first.json()
    assert Payment.objects.count() == 1


def test_a_retry_returns_the_first_payment_even_after_it_moved_on(client_for, user, worker, staff_user, completed_job):
    client = client_for(user)
    first = _pay(client, completed_job, worker, key="retry-me").json()
    client_for(staff_user).post(f"/api/v1/payments/{first['id']}/succeed/")

    retry = _pay(client, completed_job, worker, key="retry-me")

    assert retry.status_code == 200
    assert retry.json()["id"] == first["id"]
    assert retry.json()["status"] == "succeeded"
    assert Payment.objects.count() == 1


def test_a_retry_with_the_same_amount_written_differently_is_the_same_request(client_for, user, worker, completed_job):
    client = client_for(user)
    first = _pay(client, completed_job, worker, key="k", amount="100")
    retry = _pay(client, completed_job, worker, key="k", amount="100.00")

    assert (first.status_code, retry.status_code) == (201, 200)
    assert retry.json()["id"] == first.json()["id"]


def test_a_retry_without_currency_matches_the_first_requests_currency(client_for, user, worker, completed_job):
    client = client_for(user)
    first = _pay(client, completed_job, worker, key="k", currency="EUR")

    retry = _pay(client, completed_job, worker, key="k")

    assert retry.status_code == 200
    assert retry.json()["id"] == first.json()["id"]
    assert retry.json()["currency"] == "EUR"


def test_pay_retry_query_count(client_for, user, worker, completed_job, django_assert_num_queries):
    # given: the first request's payment (made through the service, so no read is cached yet)
    payment_create(job=completed_job, payer=user, payee_id=worker.id, amount=Decimal("100.00"), idempotency_key="k")
    client = client_for(user)

    # token; job; SAVEPOINT; the job's row lock; payee with the checks (finds the key); the payment;
    # RELEASE. Data queries: 4 (savepoints are transaction control).
    with django_assert_num_queries(7):
        response = _pay(client, completed_job, worker, key="k")

    assert response.status_code == 200


@pytest.mark.parametrize(
    "change",
    [
        {"amount": "100.01"},
        {"currency": "EUR"},
        {"payee": "second worker"},
        {"payee": "stranger"},
        {"payee": "unknown"},
        {"job": "another job"},
    ],
)
def test_reusing_a_key_for_a_different_payment_is_409(client_for, user, worker, completed_job, change):
    # given: a first payment with the key, and a second accepted worker and job of the same client
    second_worker = make_user()
    make_application(job=completed_job, applicant=second_worker, status=Application.Status.ACCEPTED)
    another_job = make_completed_job(client=user, workers=[worker])
    client = client_for(user)
    assert _pay(client, completed_job, worker, key="k", currency="USD").status_code == 201
    payload = {"payee": worker.id, "amount": "100.00", "currency": "USD"}
    job = completed_job
    if change.get("payee") == "second worker":
        payload["payee"] = second_worker.id
    elif change.get("payee") == "stranger":
        payload["payee"] = make_user().id
    elif change.get("payee") == "unknown":
        payload["payee"] = 999999
    elif "job" in change:
        job = another_job
    else:
        payload.update(change)

    # when
    response = client.post(_pay_url(job.id), payload, HTTP_IDEMPOTENCY_KEY="k")

    # then
    assert_error(response, 409, code="idempotency_key_reused")
    assert Payment.objects.count() == 1


def test_the_same_key_from_another_payer_is_independent(client_for, user, other_user, worker, completed_job):
    other_job = make_completed_job(client=other_user, workers=[worker])

    mine = _pay(client_for(user), completed_job, worker, key="shared-key")
    theirs = _pay(client_for(other_user), other_job, worker, key="shared-key")

    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.json()["id"] != theirs.json()["id"]
    assert Payment.objects.count() == 2


def test_different_keys_make_different_payments(client_for, user, worker, completed_job):
    client = client_for(user)

    assert _pay(client, completed_job, worker, key="wage").status_code == 201
    assert _pay(client, completed_job, worker, key="tip", amount="10.00").status_code == 201

    assert Payment.objects.count() == 2


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"HTTP_IDEMPOTENCY_KEY": ""},
        {"HTTP_IDEMPOTENCY_KEY": "x" * 256},
        {"HTTP_IDEMPOTENCY_KEY": "has space"},
        {"HTTP_IDEMPOTENCY_KEY": "tab\tinside"},
        {"HTTP_IDEMPOTENCY_KEY": "clé"},
    ],
)
def test_pay_requires_a_valid_idempotency_key(client_for, user, worker, completed_job, headers):
    response = client_for(user).post(_pay_url(completed_job.id), {"payee": worker.id, "amount": "10.00"}, **headers)

    assert_error(response, 400, attr="Idempotency-Key")
    assert not Payment.objects.exists()


@pytest.mark.parametrize("key", ["a", "x" * 255, "550e8400-e29b-41d4-a716-446655440000", "!~{}[]:;"])
def test_pay_accepts_any_visible_ascii_key_up_to_255(client_for, user, worker, completed_job, key):
    assert _pay(client_for(user), completed_job, worker, key=key).status_code == 201
    assert Payment.objects.get().idempotency_key == key


@pytest.mark.parametrize(
    ("body", "attr"),
    [
        ({"amount": "0"}, "amount"),
        ({"amount": "0.00"}, "amount"),
        ({"amount": "-5.00"}, "amount"),
        ({"amount": "abc"}, "amount"),
        ({"amount": "NaN"}, "amount"),
        ({"amount": "Infinity"}, "amount"),
        ({"amount": "1e309"}, "amount"),
        ({"amount": "10.001"}, "amount"),
        ({"amount": "10000000000.00"}, "amount"),
        ({"amount": None}, "amount"),
        ({"amount": [1]}, "amount"),
        ({"currency": "usd"}, "currency"),
        ({"currency": "US"}, "currency"),
        ({"currency": "USDD"}, "currency"),
        ({"currency": 840}, "currency"),
        ({"payee": "abc"}, "payee"),
        ({"payee": 0}, "payee"),
        ({"payee": -1}, "payee"),
        ({"payee": 10**20}, "payee"),
        ({"payee": True}, "payee"),
        ({"payee": None}, "payee"),
    ],
)
def test_pay_rejects_invalid_input(client_for, user, worker, completed_job, body, attr):
    payload = {"payee": worker.id, "amount": "10.00", **body}

    response = client_for(user).post(_pay_url(completed_job.id), payload, HTTP_IDEMPOTENCY_KEY="k")

    assert_error(response, 400, attr=attr)
    assert not Payment.objects.exists()


@pytest.mark.parametrize("missing", ["payee", "amount"])
def test_pay_requires_payee_and_amount(client_for, user, worker, completed_job, missing):
    payload = {"payee": worker.id, "amount": "10.00"}
    del payload[missing]

    response = client_for(user).post(_pay_url(completed_job.id), payload, HTTP_IDEMPOTENCY_KEY="k")

    assert_error(response, 400, code="required", attr=missing)


def test_pay_rejects_malformed_json(client_for, user, completed_job):
    response = client_for(user).generic(
        "POST", _pay_url(completed_job.id), "{not json", content_type="application/json", HTTP_IDEMPOTENCY_KEY="k"
    )

    assert_error(response, 400, code="parse_error")


def test_pay_rejects_a_body_that_is_not_an_object(client_for, user, completed_job):
    response = client_for(user).generic(
        "POST", _pay_url(completed_job.id), "[1, 2]", content_type="application/json", HTTP_IDEMPOTENCY_KEY="k"
    )

    assert_error(response, 400)


@pytest.mark.parametrize(
    "payee",
    ["pending applicant", "rejected applicant", "withdrawn applicant", "stranger", "the client", "unknown"],
)
def test_pay_only_an_accepted_worker_of_the_job(client_for, user, completed_job, payee):
    applicants = {
        "pending applicant": Application.Status.PENDING,
        "rejected applicant": Application.Status.REJECTED,
        "withdrawn applicant": Application.Status.WITHDRAWN,
    }
    if payee in applicants:
        payee_id = make_application(job=completed_job, status=applicants[payee]).applicant_id
    elif payee == "stranger":
        payee_id = make_user().id
    elif payee == "the client":
        payee_id = user.id
    else:
        payee_id = 999999

    response = client_for(user).post(
        _pay_url(completed_job.id), {"payee": payee_id, "amount": "10.00"}, HTTP_IDEMPOTENCY_KEY="k"
    )

    assert_error(response, 400, attr="payee")
    assert not Payment.objects.exists()


def test_pay_a_worker_accepted_on_another_job_is_400(client_for, user, completed_job):
    elsewhere = make_user()
    make_completed_job(client=user, workers=[elsewhere])

    response = _pay(client_for(user), completed_job, elsewhere)

    assert_error(response, 400, attr="payee")


@pytest.mark.parametrize("status", [Job.Status.OPEN, Job.Status.FILLED, Job.Status.IN_PROGRESS, Job.Status.CANCELLED])
def test_pay_for_a_job_that_is_not_completed_is_409(client_for, user, worker, status):
    job = make_job(client=user, status=status)
    make_application(job=job, applicant=worker, status=Application.Status.ACCEPTED)

    response = _pay(client_for(user), job, worker)

    assert_error(response, 409, code="job_not_completed")
    assert not Payment.objects.exists()


def test_pay_requires_authentication(api_client, worker, completed_job):
    assert_error(_pay(api_client, completed_job, worker), 401, code="not_authenticated")


@pytest.mark.parametrize("who", ["other user", "staff", "the worker"])
def test_only_the_jobs_client_can_pay(client_for, other_user, staff_user, worker, completed_job, who):
    caller = {"other user": other_user, "staff": staff_user, "the worker": worker}[who]

    response = _pay(client_for(caller), completed_job, worker)

    assert_error(response, 403, code="permission_denied")
    assert not Payment.objects.exists()


def test_forbidden_comes_before_input_validation(client_for, other_user, completed_job):
    response = client_for(other_user).post(_pay_url(completed_job.id), {"amount": "-1"})

    assert_error(response, 403)


def test_pay_for_an_unknown_job_is_404(client_for, user, worker):
    response = client_for(user).post(_pay_url(999999), {"payee": worker.id, "amount": "1.00"}, HTTP_IDEMPOTENCY_KEY="k")

    assert_error(response, 404, code="not_found")


def test_pay_is_post_only(client_for, user, completed_job):
    assert_error(client_for(user).get(_pay_url(completed_job.id)), 405)


# --- balances ---------------------------------------------------------------------------------


def _balances(client) -> tuple[str, str, str]:
    body = client.get("/api/v1/me/account-details/").json()
    return body["total_earned"], body["total_paid"], body["balance"]


def test_only_succeeded_payments_count_in_balances(
    client_for, user, worker, staff_user, completed_job, django_capture_on_commit_callbacks
):
    client, worker_client, staff = client_for(user), client_for(worker), client_for(staff_user)

    def write(request):
        # Run what a real commit runs (cache invalidation) before the next read.
        with django_capture_on_commit_callbacks(execute=True):
            return request()

    # pending: nothing moves
    pending = write(lambda: _pay(client, completed_job, worker, key="a", amount="100.00")).json()
    assert _balances(client) == ("0.00", "0.00", "0.00")
    assert _balances(worker_client) == ("0.00", "0.00", "0.00")

    # failed: nothing moves
    failed = write(lambda: _pay(client, completed_job, worker, key="b", amount="30.00")).json()
    write(lambda: staff.post(f"/api/v1/payments/{failed['id']}/fail/"))
    assert _balances(client) == ("0.00", "0.00", "0.00")
    assert _balances(worker_client) == ("0.00", "0.00", "0.00")

    # succeeded: counts for both sides
    write(lambda: staff.post(f"/api/v1/payments/{pending['id']}/succeed/"))
    assert _balances(client) == ("0.00", "100.00", "-100.00")
    assert _balances(worker_client) == ("100.00", "0.00", "100.00")

    # refunded: stops counting
    write(lambda: staff.post(f"/api/v1/payments/{pending['id']}/refund/"))
    assert _balances(client) == ("0.00", "0.00", "0.00")
    assert _balances(worker_client) == ("0.00", "0.00", "0.00")


# --- one payment ------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["payer", "payee", "staff"])
def test_payment_detail_for_its_parties_and_staff(client_for, user, other_user, staff_user, who):
    payment = make_payment(payer=user, payee=other_user, amount=Decimal("12.34"))
    caller = {"payer": user, "payee": other_user, "staff": staff_user}[who]

    response = client_for(caller).get(f"/api/v1/payments/{payment.id}/")

    assert response.status_code == 200
    body = response.json()
    assert body == {
        "id": payment.id,
        "job": {"id": payment.job_id, "title": payment.job.title},
        "payer": {"id": user.id, "display_name": user.profile.display_name},
        "payee": {"id": other_user.id, "display_name": other_user.profile.display_name},
        "amount": "12.34",
        "currency": "USD",
        "status": "succeeded",
        "created_at": body["created_at"],
        "updated_at": body["updated_at"],
    }


def test_payment_detail_is_404_for_anyone_else(client_for, user, other_user):
    payment = make_payment(payer=user, payee=make_user())

    assert_error(client_for(other_user).get(f"/api/v1/payments/{payment.id}/"), 404, code="not_found")


def test_payment_detail_requires_authentication(api_client, user, other_user):
    payment = make_payment(payer=user, payee=other_user)

    assert_error(api_client.get(f"/api/v1/payments/{payment.id}/"), 401)


def test_unknown_payment_is_404(client_for, staff_user):
    assert_error(client_for(staff_user).get("/api/v1/payments/999999/"), 404, code="not_found")


def test_payment_detail_query_count(client_for, user, other_user, django_assert_num_queries):
    payment = make_payment(payer=user, payee=other_user)
    client = client_for(other_user)

    # token, payment with job and both profiles
    with django_assert_num_queries(2):
        response = client.get(f"/api/v1/payments/{payment.id}/")

    assert response.status_code == 200


# --- state transitions ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "before", "after"),
    [
        ("succeed", Payment.Status.PENDING, "succeeded"),
        ("fail", Payment.Status.PENDING, "failed"),
        ("refund", Payment.Status.SUCCEEDED, "refunded"),
    ],
)
def test_staff_moves_a_payment_on(client_for, user, other_user, staff_user, action, before, after):
    payment = make_payment(payer=user, payee=other_user, status=before)
    Payment.objects.filter(pk=payment.pk).update(updated_at=timezone.now() - timedelta(hours=1))

    response = client_for(staff_user).post(f"/api/v1/payments/{payment.id}/{action}/")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"] == payment.id
    assert body["status"] == after
    assert body["payer"] == {"id": user.id, "display_name": user.profile.display_name}
    payment.refresh_from_db()
    assert payment.status == after
    assert payment.updated_at > timezone.now() - timedelta(minutes=1)


@pytest.mark.parametrize(
    ("action", "before"),
    [
        ("succeed", Payment.Status.SUCCEEDED),
        ("succeed", Payment.Status.FAILED),
        ("succeed", Payment.Status.REFUNDED),
        ("fail", Payment.Status.SUCCEEDED),
        ("fail", Payment.Status.FAILED),
        ("fail", Payment.Status.REFUNDED),
        ("refund", Payment.Status.PENDING),
        ("refund", Payment.Status.FAILED),
        ("refund", Payment.Status.REFUNDED),
    ],
)
def test_a_transition_from_the_wrong_status_is_409(client_for, user, other_user, staff_user, action, before):
    payment = make_payment(payer=user, payee=other_user, status=before)

    response = client_for(staff_user).post(f"/api/v1/payments/{payment.id}/{action}/")

    assert_error(response, 409, code="invalid_status_transition")
    payment.refresh_from_db()
    assert payment.status == before


@pytest.mark.parametrize("action", ["succeed", "fail", "refund"])
def test_transitions_are_staff_only(api_client, client_for, user, other_user, action):
    payment = make_payment(payer=user, payee=other_user, status=Payment.Status.PENDING)
    path = f"/api/v1/payments/{payment.id}/{action}/"

    assert_error(api_client.post(path), 401, code="not_authenticated")
    assert_error(client_for(user).post(path), 403, code="permission_denied")
    assert_error(client_for(other_user).post(path), 403, code="permission_denied")
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING


@pytest.mark.parametrize("action", ["succeed", "fail", "refund"])
def test_transition_of_an_unknown_payment_is_404(client_for, staff_user, action):
    assert_error(client_for(staff_user).post(f"/api/v1/payments/999999/{action}/"), 404, code="not_found")


def test_transition_query_count(client_for, user, other_user, staff_user, django_assert_num_queries):
    payment = make_payment(payer=user, payee=other_user, status=Payment.Status.PENDING)
    client = client_for(staff_user)

    # token; SAVEPOINT; the payment FOR UPDATE with job and both profiles; UPDATE; RELEASE
    with django_assert_num_queries(5):
        response = client.post(f"/api/v1/payments/{payment.id}/succeed/")

    assert response.json()["status"] == "succeeded"
