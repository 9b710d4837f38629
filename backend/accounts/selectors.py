"""Reads of users, profiles and account details, each in one query."""

from collections.abc import Iterator
from decimal import Decimal

from django.db.models import Avg, Count, DecimalField, ExpressionWrapper, F, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from backend.accounts.models import AccountDetails, Profile, User
from backend.payments.models import Payment
from backend.ratings.models import Review

# Totals and balances have no digit limit (issue 12: aggregates that always fit): a user's succeeded
# payments have no bound on their number, so neither has their sum. PostgreSQL's numeric sum is exact at
# any size; a bounded type here (numeric(14, 2) once) turns a long history into a 500.
_MONEY = DecimalField(max_digits=None, decimal_places=2)


def _succeeded_sum(side: str) -> Coalesce:
    """Sum of a user's succeeded payments on one side (``payer`` or ``payee``), as a subquery."""
    total = (
        Payment.objects.filter(**{side: OuterRef("user_id")}, status=Payment.Status.SUCCEEDED)
        .order_by()
        .values(side)
        .annotate(total=Sum("amount"))
        .values("total")
    )
    return Coalesce(Subquery(total, output_field=_MONEY), Value(Decimal("0.00")), output_field=_MONEY)


def profile_queryset() -> QuerySet[Profile]:
    """Profiles with their user and rating summary (average, count) derived from reviews received."""
    reviews = Review.objects.filter(reviewee=OuterRef("user_id")).order_by().values("reviewee")
    return Profile.objects.select_related("user").annotate(
        rating_average=Subquery(reviews.annotate(avg=Avg("rating")).values("avg")),
        rating_count=Coalesce(Subquery(reviews.annotate(n=Count("id")).values("n")), 0),
    )


def profile_get(*, user_id: int) -> Profile | None:
    """A user's public profile, or None. One query."""
    return profile_queryset().filter(user_id=user_id, user__is_active=True).first()


def account_details_get(*, user_id: int) -> AccountDetails | None:
    """A user's account details with balances derived from succeeded payments, or None. One query."""
    return (
        AccountDetails.objects.annotate(total_earned=_succeeded_sum("payee"), total_paid=_succeeded_sum("payer"))
        .annotate(balance=ExpressionWrapper(F("total_earned") - F("total_paid"), output_field=_MONEY))
        .filter(user_id=user_id)
        .first()
    )


def active_user_ids() -> Iterator[int]:
    """Ids of active users, ascending, streamed (``iterator()``): what the hot views keyed by user warm."""
    return User.objects.filter(is_active=True).order_by("id").values_list("id", flat=True).iterator()
