"""Payments bounded by the work (issue 12): for one job and one payee, pending and succeeded payments
never exceed ``payment_ceiling(job)`` (pay rate x shift hours + 25%), sequentially and under 20
concurrent requests with different idempotency keys on PostgreSQL."""

import threading
import time
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, connections
from django.db.models import Sum

from backend.jobs.models import Application
from backend.payments.models import Payment
from backend.payments.services import payment_ceiling
from tests.assertions import assert_error
from tests.factories import make_completed_job, make_payment, make_user

pytestmark = pytest.mark.django_db

# 15.50 per hour x 8 hours = 124.00; + 25% = 155.00 per worker.
CEILING = Decimal("155.00")


def _pay(client, job, payee, amount: str, key: str | None = None):
    return client.post(
        f"/api/v1/jobs/{job.id}/payments/",
        {"payee": payee.id, "amount": amount},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key or str(uuid.uuid4()),
    )


def test_the_ceiling_is_one_workers_shift_pay_plus_the_allowance(user):
    job = make_completed_job(client=user, workers=[make_user()], pay_rate=Decimal("15.50"))
    assert payment_ceiling(job) == CEILING
    job.shift_end = job.shift_start + timedelta(hours=7, minutes=20)  # 7 h 20 min: 113.67 + 25%, to the cent
    assert payment_ceiling(job) == Decimal("142.08")


# (case, earlier payments as (amount, status), amount requested, expected status code)
CASES = [
    # The example: payments with new keys, one after another, past the work done.
    ("third-payment-past-the-ceiling", [("100.00", "succeeded"), ("50.00", "pending")], "100.00", 409),
    ("one-payment-past-the-ceiling", [], "155.01", 409),
    ("exactly-the-ceiling", [], "155.00", 201),
    ("wage-then-a-tip-within-the-allowance", [("124.00", "succeeded")], "31.00", 201),
    ("tip-one-cent-too-many", [("124.00", "succeeded")], "31.01", 409),
    ("pending-counts", [("155.00", "pending")], "0.01", 409),
    ("failed-frees-its-room", [("155.00", "failed")], "155.00", 201),
    ("refunded-frees-its-room", [("155.00", "refunded")], "155.00", 201),
]


@pytest.mark.parametrize(("earlier", "amount", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_payments_to_a_worker_stay_within_the_ceiling(client_for, user, earlier, amount, expected):
    worker, other_worker = make_user(), make_user()
    job = make_completed_job(client=user, workers=[worker, other_worker], pay_rate=Decimal("15.50"))
    for value, status in earlier:
        make_payment(user, worker, job=job, amount=Decimal(value), status=status)
    make_payment(user, other_worker, job=job, amount=CEILING)  # another worker's room is theirs

    response = _pay(client_for(user), job, worker, amount)

    if expected == 201:
        assert response.status_code == 201, response.content
    else:
        body = assert_error(response, 409, code="payment_ceiling_exceeded")
        assert "155.00" in body["errors"][0]["detail"]
    committed = Payment.objects.filter(job=job, payee=worker, status__in=["pending", "succeeded"])
    assert (committed.aggregate(total=Sum("amount"))["total"] or 0) <= CEILING


def test_a_retry_of_a_payment_at_the_ceiling_is_still_a_replay(client_for, user):
    worker = make_user()
    job = make_completed_job(client=user, workers=[worker], pay_rate=Decimal("15.50"))
    client = client_for(user)
    assert _pay(client, job, worker, "155.00", key="k").status_code == 201

    assert _pay(client, job, worker, "155.00", key="k").status_code == 200


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: concurrent transactions and row locks")
@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_payments_never_pass_the_ceiling(client_for, record_property):
    """20 requests at once, each with its own key, each for 40.00 of a 155.00 ceiling: 3 fit."""
    client, worker = make_user(), make_user()
    job = make_completed_job(client=client, workers=[worker], pay_rate=Decimal("15.50"))
    assert Application.objects.filter(job=job, status="accepted").count() == 1
    clients = [client_for(client) for _ in range(20)]
    barrier = threading.Barrier(len(clients))
    responses: list = [None] * len(clients)

    def run(index: int) -> None:
        try:
            barrier.wait()
            responses[index] = _pay(clients[index], job, worker, "40.00")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(clients))]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    elapsed = time.monotonic() - started

    codes = sorted(response.status_code for response in responses)
    assert codes == [201] * 3 + [409] * 17, codes
    for response in responses:
        if response.status_code == 409:
            assert_error(response, 409, code="payment_ceiling_exceeded")
    assert Payment.objects.filter(job=job, payee=worker).aggregate(total=Sum("amount"))["total"] == Decimal("120.00")
    record_property("twenty_concurrent_payments_seconds", round(elapsed, 3))
    print(f"20 concurrent payments: 3 created, 17 refused, {elapsed:.3f} s")


# (case, currencies of the job's earlier payments as (currency, status), currency requested, expected status code)
CURRENCY_CASES = [
    # Found after the ceiling landed: a job paid in one currency took the rest of its ceiling in another.
    ("another-currency-after-a-payment", [("NGN", "succeeded")], "GBP", 409),
    ("another-currency-after-another-workers-payment", [("NGN", "pending")], "USD", 409),
    ("the-same-currency", [("NGN", "succeeded")], "NGN", 201),
    ("any-currency-for-the-first-payment", [], "GBP", 201),
    ("a-failed-payment-fixes-nothing", [("NGN", "failed")], "GBP", 201),
]


@pytest.mark.parametrize(
    ("earlier", "currency", "expected"), [c[1:] for c in CURRENCY_CASES], ids=[c[0] for c in CURRENCY_CASES]
)
def test_a_jobs_payments_are_in_one_currency(client_for, user, earlier, currency, expected):
    worker, other_worker = make_user(), make_user()
    job = make_completed_job(client=user, workers=[worker, other_worker], pay_rate=Decimal("15.50"))
    for value, status in earlier:
        make_payment(user, other_worker, job=job, amount=Decimal("1.00"), currency=value, status=status)

    response = client_for(user).post(
        f"/api/v1/jobs/{job.id}/payments/",
        {"payee": worker.id, "amount": "10.00", "currency": currency},
        format="json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )

    if expected == 201:
        assert response.status_code == 201, response.content
    else:
        assert_error(response, 409, code="currency_mismatch")
        assert not Payment.objects.filter(job=job, payee=worker).exists()
