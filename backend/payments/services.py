"""Writes to payments: creating one (idempotently) and moving it through its states.

A payment goes ``pending -> succeeded | failed`` and ``succeeded -> refunded``; nothing else.
Balances are derived from succeeded payments (see ``backend.accounts.selectors``), so a pending,
failed or refunded payment never counts.

Payments are bounded by the work (issue 12): for one job and one payee, pending and succeeded
payments together never exceed ``payment_ceiling(job)``, the pay for one worker's shift
(``pay_rate`` is per hour and per worker; a worker fills one of the job's ``slots``) plus
``PAYMENT_ALLOWANCE`` (25%) for tips and overtime. Over the job's accepted workers, at most ``slots``,
this bounds the job's payments by ``pay_rate`` x shift hours x ``slots`` x 1.25 too. Refused with a 409
``payment_ceiling_exceeded`` that says how much room is left; a failed or refunded payment frees its
room. Concurrent payments take turns on the job's row lock, so they cannot together pass the ceiling.
No database constraint can say this (it sums rows); the lock is what enforces it.
"""

from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError

from backend.accounts.models import User
from backend.common.errors import Conflict
from backend.common.validation import validate_field_values
from backend.jobs.models import Application, Job
from backend.payments import selectors
from backend.payments.models import Payment

# Share of a shift's pay a worker may receive on top of it, for tips and overtime.
PAYMENT_ALLOWANCE = Decimal("0.25")
CENT = Decimal("0.01")
# The payments that take up room under the ceiling: money sent or on its way.
_COMMITTED = (Payment.Status.PENDING, Payment.Status.SUCCEEDED)


def payment_ceiling(job: Job) -> Decimal:
    """The most one worker of ``job`` can be paid in total, in the payment's currency units:
    ``pay_rate`` x shift hours x (1 + ``PAYMENT_ALLOWANCE``), rounded to the cent (half up).

    At most 99,999,999.99 per hour x 24 hours x 1.25 = 2,999,999,999.70, within a payment's amount."""
    hours = Decimal((job.shift_end - job.shift_start) // timedelta(seconds=1)) / 3600
    return (job.pay_rate * hours * (1 + PAYMENT_ALLOWANCE)).quantize(CENT, rounding=ROUND_HALF_UP)


@transaction.atomic
def payment_create(
    *,
    job: Job,
    payer: User,
    payee_id: int,
    amount: Decimal,
    currency: str | None = None,
    idempotency_key: str,
) -> tuple[Payment, bool]:
    """Create a pending payment from the job's client to one of its accepted workers.

    Returns ``(payment, created)``. The idempotency key is scoped to the payer: a retry with the same
    key returns the payment the first request created (``created`` is False) and never creates a
    second one, even when the retries race each other. The same key with a different job, payee,
    amount or currency is a 409. ``currency`` defaults to the payer's account details currency; a
    retry that leaves it out matches whatever currency the first request used.

    A new payment that would take the payee's pending and succeeded payments for this job past
    ``payment_ceiling(job)`` is a 409 ``payment_ceiling_exceeded``; one in another currency than the
    job's pending and succeeded payments so far is a 409 ``currency_mismatch`` (the ceiling adds
    amounts, so a job is paid in one currency).

    ``job`` should come from ``selectors.job_for_payment`` (client profile and account details
    joined in), so that creating a payment costs one query to lock the job, one to check the payee,
    the key and the payee's payments so far, and the insert. Everything after the lock reads what
    earlier payments of this job committed, so a retry racing its first request is a replay, never
    a refusal.
    """
    if job.client_id != payer.pk:
        raise PermissionDenied("Only the job's client can pay for it.")

    status = Job.objects.select_for_update().filter(pk=job.pk).values_list("status", flat=True).get()
    payee = _payee_with_checks(job=job, payer=payer, payee_id=payee_id, idempotency_key=idempotency_key)
    if payee is None:  # no such user; the key may still have been used (for someone else)
        existing = selectors.payment_get_by_idempotency_key(payer_id=payer.pk, idempotency_key=idempotency_key)
    elif payee.payment_id_under_key is not None:
        existing = selectors.payment_get(payment_id=payee.payment_id_under_key)
    else:
        existing = None
    if existing is not None:
        _ensure_same_request(existing, job=job, payee_id=payee_id, amount=amount, currency=currency)
        return existing, False

    if status != Job.Status.COMPLETED:
        raise Conflict("Only a completed job can be paid.", code="job_not_completed")
    if payee is None or payee.pk == payer.pk or not payee.is_accepted_worker:
        raise ValidationError({"payee": ["The payee must be an accepted worker of this job."]}, code="invalid")
    paid_in = currency or job.client.account_details.currency
    if payee.job_currency is not None and paid_in != payee.job_currency:
        # The ceiling adds amounts up: a second currency would make it count pounds as naira.
        raise Conflict(
            f"This job's payments are in {payee.job_currency}; pay in {payee.job_currency}.",
            code="currency_mismatch",
        )
    ceiling = payment_ceiling(job)
    if payee.committed + amount > ceiling:
        raise Conflict(
            f"Payments to this worker for this job are limited to {ceiling} (pay rate x shift hours + "
            f"{PAYMENT_ALLOWANCE:.0%} for tips and overtime); {max(ceiling - payee.committed, Decimal(0))} is left.",
            code="payment_ceiling_exceeded",
        )

    payment = Payment(
        job=job,
        payer=job.client,
        payee=payee,
        amount=amount,
        currency=paid_in,
        status=Payment.Status.PENDING,
        idempotency_key=idempotency_key,
    )
    validate_field_values(payment)
    return _insert_or_replay(payment, requested_currency=currency)


def _payee_with_checks(*, job: Job, payer: User, payee_id: int, idempotency_key: str) -> User | None:
    """The payee with their profile, whether they are an accepted worker of the job, the id of the
    payment the payer already made under this key (or None), and ``committed``, the total of their
    pending and succeeded payments for this job. One query; None for an unknown user.
    """
    accepted = Application.objects.filter(job=job, applicant=OuterRef("pk"), status=Application.Status.ACCEPTED)
    under_key = Payment.objects.filter(payer=payer, idempotency_key=idempotency_key).values("pk")[:1]
    committed = (
        Payment.objects.filter(job=job, payee=OuterRef("pk"), status__in=_COMMITTED)
        .order_by()
        .values("payee")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    # The currency of the job's payments so far (any payee): the ceiling compares amounts, so they
    # must all be in one currency.
    job_currency = Payment.objects.filter(job=job, status__in=_COMMITTED).order_by("pk").values("currency")[:1]
    return (
        User.objects.select_related("profile")
        .annotate(
            is_accepted_worker=Exists(accepted),
            payment_id_under_key=Subquery(under_key),
            committed=Coalesce(Subquery(committed), Decimal(0)),
            job_currency=Subquery(job_currency),
        )
        .filter(pk=payee_id)
        .first()
    )


def _insert_or_replay(payment: Payment, *, requested_currency: str | None) -> tuple[Payment, bool]:
    """Insert ``payment``; if a concurrent request with the same key won the race, return its payment.

    The insert runs in a savepoint, so the unique constraint's refusal leaves the transaction usable
    for reading the winner's row (committed by then: the insert waited for it on the unique index).
    """
    try:
        with transaction.atomic():
            payment.save(force_insert=True)
    except IntegrityError:
        existing = selectors.payment_get_by_idempotency_key(
            payer_id=payment.payer_id, idempotency_key=payment.idempotency_key
        )
        if existing is None:  # another constraint refused the row
            raise
        _ensure_same_request(
            existing, job=payment.job, payee_id=payment.payee_id, amount=payment.amount, currency=requested_currency
        )
        return existing, False
    return payment, True


def _ensure_same_request(payment: Payment, *, job: Job, payee_id: int, amount: Decimal, currency: str | None) -> None:
    if (
        payment.job_id != job.pk
        or payment.payee_id != payee_id
        or payment.amount != amount
        or (currency is not None and payment.currency != currency)
    ):
        raise _key_reused()


def _key_reused() -> Conflict:
    return Conflict(
        "This Idempotency-Key was already used for a different payment (job, payee, amount or currency).",
        code="idempotency_key_reused",
    )


def payment_mark_succeeded(*, payment_id: int) -> Payment:
    """The provider confirmed a pending payment: it now counts in both parties' balances."""
    return _payment_transition(payment_id=payment_id, from_status=Payment.Status.PENDING, to=Payment.Status.SUCCEEDED)


def payment_mark_failed(*, payment_id: int) -> Payment:
    """The provider declined a pending payment."""
    return _payment_transition(payment_id=payment_id, from_status=Payment.Status.PENDING, to=Payment.Status.FAILED)


def payment_refund(*, payment_id: int) -> Payment:
    """Give a succeeded payment back: it stops counting in the balances."""
    return _payment_transition(payment_id=payment_id, from_status=Payment.Status.SUCCEEDED, to=Payment.Status.REFUNDED)


@transaction.atomic
def _payment_transition(*, payment_id: int, from_status: str, to: str) -> Payment:
    # The row lock makes concurrent transitions of one payment take turns, so each sees the
    # status the previous one wrote (a payment cannot be both succeeded and failed).
    payment = selectors.payment_queryset().select_for_update(of=("self",)).filter(pk=payment_id).first()
    if payment is None:
        raise NotFound()
    if payment.status != from_status:
        raise Conflict(
            f"A {payment.status} payment cannot become {to}; only a {from_status} one can.",
            code="invalid_status_transition",
        )
    payment.status = to
    validate_field_values(payment)
    payment.save(update_fields=["status", "updated_at"])
    return payment
