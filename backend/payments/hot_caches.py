"""Hot view of the payments app: a user's payments, paid and received (the default first page)."""

from django.urls import reverse

from backend.accounts.models import User
from backend.caching.registry import Dependency, HotView, register
from backend.common.pagination import DEFAULT_PAGE_SIZE, first_page
from backend.payments import selectors
from backend.payments.models import Payment
from backend.payments.serializers import PaymentListItemSerializer


def build_user_payments(user_id: int) -> dict | None:
    """Two queries: count and page; or, with no payments, count and whether the user exists."""
    count = selectors.payment_count_for_user(user_id=user_id)
    page = first_page(
        selectors.payment_newest_for_user(user_id=user_id, size=DEFAULT_PAGE_SIZE),
        serializer_class=PaymentListItemSerializer,
        base_path=reverse("user-payments", kwargs={"user_id": user_id}),
        count=count,
    )
    if page["count"] == 0 and not selectors.user_exists(user_id=user_id):
        return None
    return page


def _parties_of(payments):
    return [(payments, "payer_id"), (payments, "payee_id")]


def _parties_of_payments_of_renamed(profile):
    return _parties_of(
        Payment.objects.filter(payer_id=profile.user_id) | Payment.objects.filter(payee_id=profile.user_id)
    )


def _parties_of_retitled_job(job):
    return _parties_of(Payment.objects.filter(job_id=job.pk)) if job.status == "completed" else []


PAYMENTS = register(
    HotView(
        namespace="payments:user",
        description="A user's payments, paid and received, newest first.",
        build=build_user_payments,
        ttl=300,
        depends_on=(
            Dependency("payments.Payment", id_fields=("payer", "payee")),
            # Each item shows both parties' display names and the job's title.
            Dependency(
                "accounts.Profile",
                fan_out=_parties_of_payments_of_renamed,
                fan_out_when_changed=("display_name",),
            ),
            # Payments exist only for completed jobs, so only their retitling (by staff) fans out.
            Dependency("jobs.Job", fan_out=_parties_of_retitled_job, fan_out_when_changed=("title",)),
            # Whether the user exists decides between a list and a (cached) 404.
            Dependency("accounts.User", id_fields=("pk",)),
        ),
        all_ids=lambda: User.objects.order_by("id").values_list("id", flat=True).iterator(),
        private=True,
    )
)
