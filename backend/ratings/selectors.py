"""Reads of reviews, each in one query (a list page: a count and the page)."""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Avg, Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from backend.accounts.models import User
from backend.jobs.models import Job
from backend.ratings.models import Review

# What the review serializer shows besides the review's own columns.
_RELATED = ("job", "reviewer__profile", "reviewee__profile")


@dataclass(frozen=True)
class ReviewSummary:
    """A user's rating from the reviews they received: ``average_rating`` is None until they have one."""

    average_rating: Decimal | None
    review_count: int


def review_list_received(*, user_id: int) -> QuerySet[Review]:
    """Reviews the user received, newest first (the reviewee index)."""
    return Review.objects.select_related(*_RELATED).filter(reviewee_id=user_id).order_by("-created_at", "-id")


def review_list_given(*, user_id: int) -> QuerySet[Review]:
    """Reviews the user wrote, newest first (the reviewer index)."""
    return Review.objects.select_related(*_RELATED).filter(reviewer_id=user_id).order_by("-created_at", "-id")


def review_summary_for_user(*, user_id: int) -> ReviewSummary | None:
    """The user's rating summary, or None when there is no such active user. One query.

    Deactivated users are as unknown here as on their public profile.
    """
    reviews = Review.objects.filter(reviewee=OuterRef("pk")).order_by().values("reviewee")
    row = (
        User.objects.filter(pk=user_id, is_active=True)
        .annotate(
            average=Subquery(reviews.annotate(avg=Avg("rating")).values("avg")),
            count=Coalesce(Subquery(reviews.annotate(n=Count("id")).values("n")), 0),
        )
        .values("average", "count")
        .first()
    )
    if row is None:
        return None
    average = None if row["average"] is None else Decimal(str(row["average"]))
    return ReviewSummary(average_rating=average, review_count=row["count"])


def reviewer_exists(*, user_id: int) -> bool:
    """Whether there is such an active user (whose written reviews can be listed). One query."""
    return User.objects.filter(pk=user_id, is_active=True).exists()


def job_for_review(*, job_id: int) -> Job | None:
    """A job with its client's profile (a reviewer or reviewee's display name), or None. One query."""
    return Job.objects.select_related("client__profile").filter(pk=job_id).first()
