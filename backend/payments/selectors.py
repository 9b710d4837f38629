"""Reads of payments, each in one query (a list page: a count and the page)."""

from django.db import connection
from django.db.models import Case, CharField, Q, QuerySet, Value, When

from backend.accounts.models import User
from backend.jobs.models import Job
from backend.payments.models import Payment

# What the payment serializers show besides the payment's own columns.
_RELATED = ("job", "payer__profile", "payee__profile")


def payment_queryset() -> QuerySet[Payment]:
    """Payments with their job and both parties' profiles joined in."""
    return Payment.objects.select_related(*_RELATED)


def payment_list_for_user(*, user_id: int) -> QuerySet[Payment]:
    """A user's payments, as payer or payee, newest first, each with its ``direction`` for that user.

    ``direction`` is ``"paid"`` when the user is the payer and ``"received"`` when they are the payee.
    Filtering by status is ``PaymentFilter``'s job. Reads the payer and payee indexes.
    """
    return (
        payment_queryset()
        .filter(Q(payer_id=user_id) | Q(payee_id=user_id))
        .annotate(
            direction=Case(
                When(payer_id=user_id, then=Value("paid")), default=Value("received"), output_field=CharField()
            )
        )
        .order_by("-created_at", "-id")
    )


def payment_count_for_user(*, user_id: int) -> int:
    """How many payments the user made or received. One query (a BitmapOr of the two indexes)."""
    return Payment.objects.filter(Q(payer_id=user_id) | Q(payee_id=user_id)).count()


def payment_newest_for_user(*, user_id: int, size: int) -> QuerySet[Payment]:
    """The user's ``size`` newest payments, shaped like ``payment_list_for_user``. One query.

    On PostgreSQL, a UNION ALL of the two halves (as payer, as payee), each walking its
    ``(side, created_at, id)`` index and stopping after ``size`` rows: the cost is flat in the user's
    history, where ``payer OR payee`` fetches, joins and sorts all of it (docs/indexes.md has the
    figures). The halves never share a row (a check constraint keeps payer and payee apart), hence
    ALL. Databases that cannot order and cut the halves of a UNION (SQLite) use the OR filter.
    """
    if not connection.features.supports_slicing_ordering_in_compound:
        return payment_list_for_user(user_id=user_id)[:size]

    def half(side: str, direction: str) -> QuerySet[Payment]:
        return (
            payment_queryset()
            .filter(**{side: user_id})
            .annotate(direction=Value(direction, output_field=CharField()))
            .order_by("-created_at", "-id")[:size]
        )

    newest = half("payer_id", "paid").union(half("payee_id", "received"), all=True)
    return newest.order_by("-created_at", "-id")[:size]


def payment_get(*, payment_id: int) -> Payment | None:
    """A payment as the API shows it, or None. One query."""
    return payment_queryset().filter(pk=payment_id).first()


def payment_get_by_idempotency_key(*, payer_id: int, idempotency_key: str) -> Payment | None:
    """The payment the payer created with this idempotency key, or None. One query (the unique index)."""
    return payment_queryset().filter(payer_id=payer_id, idempotency_key=idempotency_key).first()


def user_exists(*, user_id: int) -> bool:
    """Whether there is such a user (active or not: staff may look at a deactivated user's payments)."""
    return User.objects.filter(pk=user_id).exists()


def job_for_payment(*, job_id: int) -> Job | None:
    """A job with its client's profile (the payer's display name) and account details (default currency).

    One query, or None for an unknown job.
    """
    return Job.objects.select_related("client__profile", "client__account_details").filter(pk=job_id).first()
