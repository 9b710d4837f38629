"""Aggregates the API shows always fit (issue 12): balances, totals, averages and counts, through the
builders the API serves them from (selector and serializer), on the real database, for any amounts
and counts the write rules allow.

Rows are inserted directly (``bulk_create``): each payment within a payment's column (at most
9,999,999,999.99, more than the ceiling of any one job allows) and as many of them as a long history
can hold (the rules bound a payee's payments per job, not the number of jobs). The issue's example,
101 succeeded payments of 9,999,999,999.99, used to make ``GET /api/v1/me/account-details/`` a 500.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from backend.accounts.hot_caches import build_account_details, build_profile
from backend.jobs.hot_caches import build_job_detail
from backend.jobs.models import Application, Job, city_key
from backend.payments.models import Payment
from backend.ratings.hot_caches import build_reviews_received
from backend.ratings.models import Review
from tests.factories import make_completed_job, make_user

MAX_AMOUNT = Decimal("9999999999.99")  # Payment.amount: 12 digits, 2 places
amounts = st.decimals(min_value=Decimal("0.01"), max_value=MAX_AMOUNT, places=2)
PROPERTY = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _payments(job: Job, payee, values: list[Decimal], status=Payment.Status.SUCCEEDED) -> list[Payment]:
    return [
        Payment(job=job, payer_id=job.client_id, payee=payee, amount=value, status=status, idempotency_key=f"k{i}")
        for i, value in enumerate(values)
    ]


@pytest.mark.django_db
@PROPERTY
@given(
    earned_at_max=st.integers(0, 150),
    earned=st.lists(amounts, max_size=20),
    paid=st.lists(amounts, max_size=20),
    pending=st.lists(amounts, max_size=5),
)
@example(earned_at_max=101, earned=[], paid=[], pending=[])  # the example
@example(earned_at_max=0, earned=[], paid=[MAX_AMOUNT] * 20, pending=[])
def test_account_details_totals_and_balance_fit_any_history(earned_at_max, earned, paid, pending):
    with transaction.atomic():
        user, client, worker = make_user(), make_user(), make_user()
        worked = make_completed_job(client=client, workers=[user])
        hired = make_completed_job(client=user, workers=[worker])
        earned_all = [MAX_AMOUNT] * earned_at_max + earned
        Payment.objects.bulk_create(
            _payments(worked, user, earned_all)
            + _payments(hired, worker, paid)
            + [
                Payment(
                    job=worked,
                    payer=client,
                    payee=user,
                    amount=a,
                    status=Payment.Status.PENDING,
                    idempotency_key=f"p{i}",
                )
                for i, a in enumerate(pending)
            ]
        )

        data = build_account_details(user.id)

        assert Decimal(data["total_earned"]) == sum(earned_all, Decimal("0.00"))
        assert Decimal(data["total_paid"]) == sum(paid, Decimal("0.00"))
        assert Decimal(data["balance"]) == sum(earned_all, Decimal("0.00")) - sum(paid, Decimal("0.00"))
        transaction.set_rollback(True)


@pytest.mark.django_db
@PROPERTY
@given(
    ratings=st.lists(st.integers(1, 5), max_size=40),
    applications=st.lists(st.sampled_from(Application.Status.values), max_size=40),
)
@example(ratings=[5] * 40, applications=[Application.Status.ACCEPTED] * 40)
@example(ratings=[1, 2], applications=[])
def test_rating_averages_and_counts_fit_any_reviews(ratings, applications):
    with transaction.atomic():
        reviewee = make_user()
        reviewers = [make_user() for _ in range(max(len(ratings), len(applications)))]
        start = timezone.now() - timedelta(days=1)
        jobs = Job.objects.bulk_create(
            Job(client=reviewee, title="Shift", city="Lagos", city_key=city_key("Lagos"), pay_rate=Decimal("10.00"),
                shift_start=start, shift_end=start + timedelta(hours=8), status=Job.Status.COMPLETED, slots=100)
            for _ in ratings
        )  # fmt: skip
        Review.objects.bulk_create(
            Review(job=job, reviewer=reviewer, reviewee=reviewee, rating=rating)
            for job, reviewer, rating in zip(jobs, reviewers, ratings, strict=False)
        )
        later = start + timedelta(days=3)
        posted = Job.objects.create(
            client=reviewee, title="Open", city="Lagos", pay_rate=Decimal("10.00"), shift_start=later,
            shift_end=later + timedelta(hours=8), slots=100,
        )  # fmt: skip
        Application.objects.bulk_create(
            Application(job=posted, applicant=worker, status=status)
            for worker, status in zip(reviewers, applications, strict=False)
        )

        profile = build_profile(reviewee.id)
        received = build_reviews_received(reviewee.id)
        detail = build_job_detail(posted.id)

        expected = None if not ratings else (Decimal(sum(ratings)) / len(ratings)).quantize(Decimal("0.01"))
        for shown in (profile["rating_average"], received["average_rating"]):
            assert (None if shown is None else Decimal(shown)) == expected
        assert profile["rating_count"] == received["count"] == len(ratings)
        assert detail["applications"] == {
            "pending": applications.count(Application.Status.PENDING),
            "accepted": applications.count(Application.Status.ACCEPTED),
            "total": len(applications),
        }
        transaction.set_rollback(True)
