import threading
import time
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection, connections, transaction
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError

from backend.common.errors import Conflict
from backend.payments.models import Payment
from backend.payments.services import (
    _insert_or_replay,
    payment_create,
    payment_mark_failed,
    payment_mark_succeeded,
    payment_refund,
)
from tests.factories import make_completed_job, make_payment, make_user

_ON_POSTGRES = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


def _create(job, payer, payee, key="k", amount="100.00", currency=None):
    return payment_create(
        job=job, payer=payer, payee_id=payee.id, amount=Decimal(amount), currency=currency, idempotency_key=key
    )


@pytest.mark.django_db
def test_payment_create_then_the_same_key_returns_the_first_payment():
    client, worker = make_user(), make_user()
    job = make_completed_job(client=client, workers=[worker])

    first, first_created = _create(job, client, worker)
    again, again_created = _create(job, client, worker)

    assert (first_created, again_created) == (True, False)
    assert again.pk == first.pk
    assert Payment.objects.count() == 1


@pytest.mark.django_db
def test_payment_create_defaults_to_the_payers_currency():
    client, worker = make_user(), make_user()
    client.account_details.currency = "GHS"
    client.account_details.save()
    job = make_completed_job(client=client, workers=[worker])

    payment, _ = _create(job, client, worker)

    assert payment.currency == "GHS"
    assert payment.status == Payment.Status.PENDING


@pytest.mark.django_db
def test_payment_create_refuses_a_payer_who_is_not_the_jobs_client():
    client, worker = make_user(), make_user()
    job = make_completed_job(client=client, workers=[worker])

    with pytest.raises(PermissionDenied):
        _create(job, worker, client)


@pytest.mark.django_db
def test_payment_create_refuses_a_payee_who_is_not_an_accepted_worker():
    client, worker = make_user(), make_user()
    job = make_completed_job(client=client, workers=[worker])

    with pytest.raises(ValidationError) as exc:
        _create(job, client, make_user())

    assert "payee" in exc.value.detail


@pytest.mark.django_db
def test_a_concurrent_winner_is_returned_instead_of_a_second_payment():
    """The race: a request with the same key committed between this one's check and its insert."""
    client, worker = make_user(), make_user()
    job = make_completed_job(client=client, workers=[worker])
    winner = make_payment(payer=client, payee=worker, job=job, idempotency_key="k", status=Payment.Status.PENDING)
    late = Payment(job=job, payer=client, payee=worker, amount=winner.amount, currency="USD", idempotency_key="k")

    payment, created = _insert_or_replay(late, requested_currency=None)

    assert created is False
    assert payment.pk == winner.pk
    assert Payment.objects.count() == 1


@pytest.mark.django_db
def test_a_concurrent_winner_with_a_different_amount_is_a_conflict():
    client, worker = make_user(), make_user()
    job = make_completed_job(client=client, workers=[worker])
    make_payment(payer=client, payee=worker, job=job, idempotency_key="k", amount=Decimal("5.00"))
    late = Payment(job=job, payer=client, payee=worker, amount=Decimal("6.00"), currency="USD", idempotency_key="k")

    with pytest.raises(Conflict) as exc:
        _insert_or_replay(late, requested_currency=None)

    assert exc.value.get_codes() == "idempotency_key_reused"
    assert Payment.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.skipif(not _ON_POSTGRES, reason="needs PostgreSQL: concurrent transactions and row locks")
@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_on_postgres_create_one_payment():
    """Two requests with one key: the second waits on the job's row lock (which bounds the payments by
    the work, issue 12), then finds and returns the first's payment."""
    client, worker = make_user(), make_user()
    job = make_completed_job(client=client, workers=[worker])
    outcome = {}

    def second_request():
        try:
            outcome["result"] = _create(job, client, worker)
        except Exception as exc:  # pragma: no cover - reported by the assertion below
            outcome["error"] = exc
        finally:
            connections.close_all()

    with transaction.atomic():
        first, created = _create(job, client, worker)
        thread = threading.Thread(target=second_request)
        thread.start()
        # Commit only once the second request is blocked on the job's row lock behind this
        # transaction: it has not yet read the key, which it then finds taken.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with connection.cursor() as cursor:
                # Statistics views are read once per transaction unless the snapshot is cleared.
                cursor.execute("SELECT pg_stat_clear_snapshot()")
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock' AND query LIKE %s",
                    ['SELECT %"jobs_job"% FOR UPDATE%'],
                )
                if cursor.fetchone()[0]:
                    break
            time.sleep(0.02)
        else:  # pragma: no cover
            pytest.fail("the second request never waited on the job's row lock")
    thread.join(timeout=10)

    assert "error" not in outcome, outcome.get("error")
    payment, second_created = outcome["result"]
    assert (created, second_created) == (True, False)
    assert payment.pk == first.pk
    assert Payment.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("transition", "before", "after"),
    [
        (payment_mark_succeeded, Payment.Status.PENDING, Payment.Status.SUCCEEDED),
        (payment_mark_failed, Payment.Status.PENDING, Payment.Status.FAILED),
        (payment_refund, Payment.Status.SUCCEEDED, Payment.Status.REFUNDED),
    ],
)
def test_transitions(transition, before, after):
    payment = make_payment(payer=make_user(), payee=make_user(), status=before)

    moved = transition(payment_id=payment.pk)

    assert moved.status == after
    payment.refresh_from_db()
    assert payment.status == after


@pytest.mark.django_db
def test_a_failed_payment_cannot_be_refunded_or_succeed():
    payment = make_payment(payer=make_user(), payee=make_user(), status=Payment.Status.FAILED)

    for transition in (payment_refund, payment_mark_succeeded, payment_mark_failed):
        with pytest.raises(Conflict):
            transition(payment_id=payment.pk)

    payment.refresh_from_db()
    assert payment.status == Payment.Status.FAILED


@pytest.mark.django_db
def test_transition_of_an_unknown_payment():
    with pytest.raises(NotFound):
        payment_mark_succeeded(payment_id=999999)
