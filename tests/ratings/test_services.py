from decimal import Decimal

import pytest
from rest_framework.exceptions import PermissionDenied, ValidationError

from backend.common.errors import Conflict
from backend.ratings.models import Review
from backend.ratings.selectors import job_for_review
from backend.ratings.services import review_create
from tests.factories import make_completed_job, make_review, make_user

pytestmark = pytest.mark.django_db


def test_review_create_by_the_client_and_by_a_worker():
    client, worker = make_user(), make_user()
    job = make_completed_job(client=client, workers=[worker])

    by_client = review_create(job=job, reviewer=client, reviewee_id=worker.id, rating=5, comment="Great.")
    by_worker = review_create(job=job, reviewer=worker, reviewee_id=client.id, rating=3)

    assert (by_client.reviewer_id, by_client.reviewee_id, by_client.comment) == (client.id, worker.id, "Great.")
    assert (by_worker.reviewer_id, by_worker.reviewee_id, by_worker.comment) == (worker.id, client.id, "")
    assert Review.objects.count() == 2


def test_review_create_maps_the_unique_constraint_to_a_conflict():
    """No read-before-write: the database's unique constraint decides, so a race is a 409 too."""
    client, worker = make_user(), make_user()
    job = make_completed_job(client=client, workers=[worker])
    make_review(reviewer=client, reviewee=worker, job=job)

    with pytest.raises(Conflict) as exc:
        review_create(job=job, reviewer=client, reviewee_id=worker.id, rating=1)

    assert exc.value.get_codes() == "already_reviewed"
    assert Review.objects.count() == 1


def test_review_create_refuses_outsiders_and_workers_reviewing_each_other():
    client, worker, other_worker = make_user(), make_user(), make_user()
    job = make_completed_job(client=client, workers=[worker, other_worker])

    with pytest.raises(PermissionDenied):
        review_create(job=job, reviewer=make_user(), reviewee_id=client.id, rating=5)
    with pytest.raises(ValidationError):
        review_create(job=job, reviewer=worker, reviewee_id=other_worker.id, rating=5)
    with pytest.raises(ValidationError):
        review_create(job=job, reviewer=client, reviewee_id=client.id, rating=5)


def test_job_for_review_reads_the_clients_profile_in_one_query(django_assert_num_queries):
    client = make_user()
    job = make_completed_job(client=client, workers=[make_user()])

    with django_assert_num_queries(1):
        assert job_for_review(job_id=job.id).client.profile.display_name == client.profile.display_name

    assert job_for_review(job_id=999999) is None


def test_ratings_are_stored_as_integers_not_decimals():
    client, worker = make_user(), make_user()
    job = make_completed_job(client=client, workers=[worker])

    review = review_create(job=job, reviewer=client, reviewee_id=worker.id, rating=4)

    review.refresh_from_db()
    assert review.rating == 4
    assert not isinstance(review.rating, Decimal)
