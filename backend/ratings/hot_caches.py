"""Hot views of the ratings app: reviews a user received (with their average) and reviews they wrote."""

from django.urls import reverse

from backend.accounts import selectors as user_selectors
from backend.caching.registry import Dependency, HotView, register
from backend.common.pagination import first_page
from backend.ratings import selectors
from backend.ratings.models import Review
from backend.ratings.serializers import ReviewOutputSerializer, ReviewSummaryOutputSerializer


def build_reviews_received(user_id: int) -> dict | None:
    """Two queries: the summary (which also counts the reviews) and the page."""
    summary = selectors.review_summary_for_user(user_id=user_id)
    if summary is None:
        return None
    return first_page(
        selectors.review_list_received(user_id=user_id),
        serializer_class=ReviewOutputSerializer,
        base_path=reverse("user-reviews-received", kwargs={"user_id": user_id}),
        extra=ReviewSummaryOutputSerializer(summary).data,
        count=summary.review_count,
    )


def build_reviews_given(user_id: int) -> dict | None:
    """Two queries: count and page; or, with no reviews, count and whether the user is an active one.

    The list is restricted to an active reviewer (a join the page makes anyway), so a deactivated
    user's reviews count as none and the existence check turns them into a 404.
    """
    page = first_page(
        selectors.review_list_given(user_id=user_id).filter(reviewer__is_active=True),
        serializer_class=ReviewOutputSerializer,
        base_path=reverse("user-reviews-given", kwargs={"user_id": user_id}),
    )
    if page["count"] == 0 and not selectors.reviewer_exists(user_id=user_id):
        return None
    return page


def _lists_showing_name(list_owner: str):
    """Fan-out for a renamed user: the review lists (owned by ``list_owner``) that show their name.

    Their name is on every review they wrote or received, so it shows in the list of every user on
    the ``list_owner`` side of those reviews, their own list included.
    """

    def fan_out(profile):
        user_id = profile.user_id
        return [
            (Review.objects.filter(reviewer_id=user_id), list_owner),
            (Review.objects.filter(reviewee_id=user_id), list_owner),
        ]

    return fan_out


def _reviews_of_completed_job(side: str):
    """Fan-out for a retitled job; reviews exist only for completed jobs, so only those can fan out."""

    def fan_out(job):
        return [(Review.objects.filter(job_id=job.pk), side)] if job.status == "completed" else []

    return fan_out


REVIEWS_RECEIVED = register(
    HotView(
        namespace="reviews:user",
        description="Reviews a user received, newest first, with their average rating.",
        build=build_reviews_received,
        ttl=1800,
        depends_on=(
            Dependency("ratings.Review", id_fields=("reviewee",)),
            # Active or not decides between the list and a 404.
            Dependency("accounts.User", id_fields=("pk",)),
            # Each review shows both parties' display names.
            Dependency(
                "accounts.Profile",
                fan_out=_lists_showing_name("reviewee_id"),
                fan_out_when_changed=("display_name",),
            ),
            Dependency("jobs.Job", fan_out=_reviews_of_completed_job("reviewee_id"), fan_out_when_changed=("title",)),
        ),
        all_ids=user_selectors.active_user_ids,
    )
)

REVIEWS_GIVEN = register(
    HotView(
        namespace="reviews:reviewer",
        description="Reviews a user wrote, newest first.",
        build=build_reviews_given,
        ttl=1800,
        depends_on=(
            Dependency("ratings.Review", id_fields=("reviewer",)),
            Dependency("accounts.User", id_fields=("pk",)),
            Dependency(
                "accounts.Profile",
                fan_out=_lists_showing_name("reviewer_id"),
                fan_out_when_changed=("display_name",),
            ),
            Dependency("jobs.Job", fan_out=_reviews_of_completed_job("reviewer_id"), fan_out_when_changed=("title",)),
        ),
        all_ids=user_selectors.active_user_ids,
    )
)
