import json
from datetime import timedelta

import pytest
from django.utils import timezone

from backend.common.pagination import first_page
from backend.jobs.models import Application, Job
from backend.ratings.models import Review
from backend.ratings.selectors import review_list_given, review_list_received, review_summary_for_user
from backend.ratings.serializers import ReviewOutputSerializer, ReviewSummaryOutputSerializer
from tests.assertions import assert_error
from tests.factories import make_application, make_completed_job, make_job, make_review, make_user

pytestmark = pytest.mark.django_db


def _review_url(job_id: int) -> str:
    return f"/api/v1/jobs/{job_id}/reviews/"


def _received_url(user_id: int) -> str:
    return f"/api/v1/users/{user_id}/reviews/"


def _given_url(user_id: int) -> str:
    return f"/api/v1/users/{user_id}/reviews-given/"


@pytest.fixture
def worker(db):
    return make_user(email="worker@example.com")


@pytest.fixture
def second_worker(db):
    return make_user(email="second@example.com")


@pytest.fixture
def completed_job(user, worker, second_worker):
    """``user`` is the client; ``worker`` and ``second_worker`` were accepted."""
    return make_completed_job(client=user, workers=[worker, second_worker], title="Night shift")


def _reviews_of(user, n: int, *, given: bool = False) -> None:
    """``n`` reviews received by ``user`` (or written by them with ``given``), ratings 1 to 5 in turn."""
    for i in range(n):
        other = make_user()
        if given:
            make_review(reviewer=user, reviewee=other, rating=i % 5 + 1)
        else:
            make_review(reviewer=other, reviewee=user, rating=i % 5 + 1)


# --- writing a review -----------------------------------------------------------------------


def test_the_client_reviews_an_accepted_worker(client_for, user, worker, completed_job):
    response = client_for(user).post(
        _review_url(completed_job.id), {"reviewee": worker.id, "rating": 4, "comment": "On time, careful."}
    )

    assert response.status_code == 201, response.content
    review = Review.objects.get()
    body = response.json()
    assert body == {
        "id": review.id,
        "job": {"id": completed_job.id, "title": "Night shift"},
        "reviewer": {"id": user.id, "display_name": user.profile.display_name},
        "reviewee": {"id": worker.id, "display_name": worker.profile.display_name},
        "rating": 4,
        "comment": "On time, careful.",
        "created_at": body["created_at"],
    }
    assert (review.reviewer_id, review.reviewee_id, review.rating) == (user.id, worker.id, 4)


def test_an_accepted_worker_reviews_the_client(client_for, user, worker, completed_job):
    response = client_for(worker).post(_review_url(completed_job.id), {"reviewee": user.id, "rating": 5})

    assert response.status_code == 201, response.content
    assert response.json()["reviewer"]["id"] == worker.id
    assert response.json()["reviewee"]["id"] == user.id
    assert response.json()["comment"] == ""


def test_both_sides_review_each_other_and_the_client_each_worker(
    client_for, user, worker, second_worker, completed_job
):
    client = client_for(user)

    statuses = [
        client.post(_review_url(completed_job.id), {"reviewee": worker.id, "rating": 5}).status_code,
        client.post(_review_url(completed_job.id), {"reviewee": second_worker.id, "rating": 3}).status_code,
        client_for(worker).post(_review_url(completed_job.id), {"reviewee": user.id, "rating": 4}).status_code,
        client_for(second_worker).post(_review_url(completed_job.id), {"reviewee": user.id, "rating": 2}).status_code,
    ]

    assert statuses == [201, 201, 201, 201]
    assert Review.objects.count() == 4


def test_a_second_review_of_the_same_person_for_the_same_job_is_409(client_for, user, worker, completed_job):
    client = client_for(user)
    assert client.post(_review_url(completed_job.id), {"reviewee": worker.id, "rating": 5}).status_code == 201

    response = client.post(_review_url(completed_job.id), {"reviewee": worker.id, "rating": 1})

    assert_error(response, 409, code="already_reviewed")
    assert Review.objects.get().rating == 5


def test_the_same_pair_may_review_again_for_another_job(client_for, user, worker, completed_job):
    another_job = make_completed_job(client=user, workers=[worker])
    client = client_for(user)

    first = client.post(_review_url(completed_job.id), {"reviewee": worker.id, "rating": 5})
    second = client.post(_review_url(another_job.id), {"reviewee": worker.id, "rating": 4})

    assert (first.status_code, second.status_code) == (201, 201)


def test_review_create_query_count(client_for, user, worker, completed_job, django_assert_num_queries):
    client = client_for(user)

    # token; job with client profile; SAVEPOINT (service); accepted workers with profiles;
    # SAVEPOINT, INSERT, RELEASE (the insert's own savepoint); RELEASE.
    # Data queries: 3 (savepoints are transaction control).
    with django_assert_num_queries(8):
        response = client.post(_review_url(completed_job.id), {"reviewee": worker.id, "rating": 5})

    assert response.status_code == 201


def test_review_requires_authentication(api_client, worker, completed_job):
    response = api_client.post(_review_url(completed_job.id), {"reviewee": worker.id, "rating": 5})

    assert_error(response, 401, code="not_authenticated")


@pytest.mark.parametrize("who", ["stranger", "staff", "pending applicant", "rejected applicant", "withdrawn applicant"])
def test_only_the_client_and_accepted_workers_review(client_for, user, staff_user, completed_job, who):
    statuses = {
        "pending applicant": Application.Status.PENDING,
        "rejected applicant": Application.Status.REJECTED,
        "withdrawn applicant": Application.Status.WITHDRAWN,
    }
    if who in statuses:
        caller = make_application(job=completed_job, status=statuses[who]).applicant
    else:
        caller = staff_user if who == "staff" else make_user()

    response = client_for(caller).post(_review_url(completed_job.id), {"reviewee": user.id, "rating": 1})

    assert_error(response, 403, code="permission_denied")
    assert not Review.objects.exists()


@pytest.mark.parametrize("status", [Job.Status.OPEN, Job.Status.FILLED, Job.Status.IN_PROGRESS, Job.Status.CANCELLED])
def test_a_job_that_is_not_completed_cannot_be_reviewed(client_for, user, worker, status):
    job = make_job(client=user, status=status)
    make_application(job=job, applicant=worker, status=Application.Status.ACCEPTED)

    by_client = client_for(user).post(_review_url(job.id), {"reviewee": worker.id, "rating": 5})
    by_worker = client_for(worker).post(_review_url(job.id), {"reviewee": user.id, "rating": 5})

    assert_error(by_client, 409, code="job_not_completed")
    assert_error(by_worker, 409, code="job_not_completed")
    assert not Review.objects.exists()


@pytest.mark.parametrize(
    ("reviewer", "reviewee"),
    [
        ("client", "client"),
        ("client", "stranger"),
        ("client", "pending applicant"),
        ("client", "unknown"),
        ("worker", "worker"),
        ("worker", "second worker"),
        ("worker", "stranger"),
        ("worker", "unknown"),
    ],
)
def test_the_reviewee_must_be_the_other_side(
    client_for, user, worker, second_worker, completed_job, reviewer, reviewee
):
    people = {
        "client": user,
        "worker": worker,
        "second worker": second_worker,
        "stranger": make_user(),
        "pending applicant": make_application(job=completed_job).applicant,
    }
    reviewee_id = 999999 if reviewee == "unknown" else people[reviewee].id

    response = client_for(people[reviewer]).post(_review_url(completed_job.id), {"reviewee": reviewee_id, "rating": 5})

    assert_error(response, 400, attr="reviewee")
    assert not Review.objects.exists()


@pytest.mark.parametrize(
    ("body", "attr"),
    [
        ({"rating": 0}, "rating"),
        ({"rating": 6}, "rating"),
        ({"rating": -1}, "rating"),
        ({"rating": "5.5"}, "rating"),
        ({"rating": 5.5}, "rating"),
        ({"rating": "3"}, "rating"),  # the schema documents an integer, not a string of one
        ({"rating": 3.0}, "rating"),
        ({"rating": "abc"}, "rating"),
        ({"rating": None}, "rating"),
        ({"rating": [5]}, "rating"),
        ({"rating": 10**30}, "rating"),
        ({"comment": "x" * 4001}, "comment"),
        ({"comment": None}, "comment"),
        ({"reviewee": "abc"}, "reviewee"),
        ({"reviewee": 0}, "reviewee"),
        ({"reviewee": 10**20}, "reviewee"),
    ],
)
def test_review_rejects_invalid_input(client_for, user, worker, completed_job, body, attr):
    payload = {"reviewee": worker.id, "rating": 5, **body}

    response = client_for(user).post(_review_url(completed_job.id), payload)

    assert_error(response, 400, attr=attr)
    assert not Review.objects.exists()


@pytest.mark.parametrize("missing", ["reviewee", "rating"])
def test_review_requires_reviewee_and_rating(client_for, user, worker, completed_job, missing):
    payload = {"reviewee": worker.id, "rating": 5}
    del payload[missing]

    assert_error(client_for(user).post(_review_url(completed_job.id), payload), 400, code="required", attr=missing)


@pytest.mark.parametrize("rating", [1, 3, 5])
def test_review_accepts_ratings_one_to_five(client_for, user, worker, completed_job, rating):
    response = client_for(user).post(_review_url(completed_job.id), {"reviewee": worker.id, "rating": rating})

    assert response.status_code == 201
    assert response.json()["rating"] == rating


def test_review_accepts_a_4000_character_comment(client_for, user, worker, completed_job):
    response = client_for(user).post(
        _review_url(completed_job.id), {"reviewee": worker.id, "rating": 5, "comment": "x" * 4000}
    )

    assert response.status_code == 201


def test_review_rejects_malformed_json(client_for, user, completed_job):
    response = client_for(user).generic("POST", _review_url(completed_job.id), "{nope", content_type="application/json")

    assert_error(response, 400, code="parse_error")


def test_review_of_an_unknown_job_is_404(client_for, user, worker):
    assert_error(client_for(user).post(_review_url(999999), {"reviewee": worker.id, "rating": 5}), 404)


# --- reviews a user received ----------------------------------------------------------------


def test_reviews_received_newest_first_with_the_average(api_client, user, worker, second_worker):
    older = make_review(reviewer=worker, reviewee=user, rating=4, comment="Clear brief.")
    newer = make_review(reviewer=second_worker, reviewee=user, rating=5)
    Review.objects.filter(pk=older.pk).update(created_at=timezone.now() - timedelta(days=2))
    make_review(reviewer=user, reviewee=worker)  # written by user: not in the list

    response = api_client.get(_received_url(user.id))

    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["count", "next", "previous", "average_rating", "results"]
    assert body["count"] == 2
    assert body["average_rating"] == "4.50"
    assert [r["id"] for r in body["results"]] == [newer.id, older.id]
    assert body["results"][1] == {
        "id": older.id,
        "job": {"id": older.job_id, "title": older.job.title},
        "reviewer": {"id": worker.id, "display_name": worker.profile.display_name},
        "reviewee": {"id": user.id, "display_name": user.profile.display_name},
        "rating": 4,
        "comment": "Clear brief.",
        "created_at": body["results"][1]["created_at"],
    }


def test_reviews_received_without_reviews_have_a_null_average(api_client, user):
    body = api_client.get(_received_url(user.id)).json()

    assert body == {"count": 0, "next": None, "previous": None, "average_rating": None, "results": []}


def test_the_average_covers_every_page_and_matches_the_profile(api_client, user):
    # 25 ratings cycling 1..5: the average is 3.00 over all of them, not over the first page only
    _reviews_of(user, 25)
    make_review(reviewer=make_user(), reviewee=user, rating=5)

    body = api_client.get(_received_url(user.id)).json()
    second_page = api_client.get(_received_url(user.id), {"page": 2}).json()

    assert body["average_rating"] == "3.08"
    assert second_page["average_rating"] == "3.08"
    assert api_client.get(f"/api/v1/users/{user.id}/profile/").json()["rating_average"] == "3.08"


def test_reviews_received_are_paginated_with_canonical_links(api_client, user):
    _reviews_of(user, 25)

    first = api_client.get(_received_url(user.id)).json()
    second = api_client.get(_received_url(user.id), {"page": 2}).json()

    assert first["next"] == f"/api/v1/users/{user.id}/reviews/?page=2"
    assert second["previous"] == f"/api/v1/users/{user.id}/reviews/"
    assert (len(first["results"]), len(second["results"])) == (20, 5)
    assert list(second) == ["count", "next", "previous", "average_rating", "results"]


def test_reviews_received_are_public_to_any_user(client_for, user, other_user):
    make_review(reviewer=make_user(), reviewee=user)

    assert client_for(other_user).get(_received_url(user.id)).json()["count"] == 1


def test_an_invalid_token_is_still_401_on_a_public_list(api_client, user):
    api_client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

    assert_error(api_client.get(_received_url(user.id)), 401)


@pytest.mark.parametrize("path", ["/api/v1/users/{id}/reviews/", "/api/v1/users/{id}/reviews-given/"])
def test_review_lists_of_an_unknown_or_deactivated_user_are_404(api_client, user, path):
    _reviews_of(user, 2)
    _reviews_of(user, 2, given=True)
    user.is_active = False
    user.save()

    assert_error(api_client.get(path.format(id=999999)), 404, code="not_found")
    assert_error(api_client.get(path.format(id=user.id)), 404, code="not_found")


@pytest.mark.parametrize("rows", [1, 25])
def test_reviews_received_query_count_anonymous(api_client, user, rows, django_assert_num_queries):
    _reviews_of(user, rows)

    # user with average and count (one query), page
    with django_assert_num_queries(2):
        response = api_client.get(_received_url(user.id))

    assert response.json()["count"] == rows


@pytest.mark.parametrize("rows", [1, 25])
def test_reviews_received_query_count_with_a_token(client_for, user, other_user, rows, django_assert_num_queries):
    _reviews_of(user, rows)
    client = client_for(other_user)

    # token, user with average and count (one query), page
    with django_assert_num_queries(3):
        response = client.get(_received_url(user.id))

    assert response.json()["count"] == rows


def test_reviews_received_first_page_matches_the_cache_builders_rendering(api_client, user):
    _reviews_of(user, 25)

    response = api_client.get(_received_url(user.id))

    summary = review_summary_for_user(user_id=user.id)
    built = first_page(
        review_list_received(user_id=user.id),
        serializer_class=ReviewOutputSerializer,
        base_path=_received_url(user.id),
        extra=ReviewSummaryOutputSerializer(summary).data,
    )
    assert response.json() == json.loads(json.dumps(built, default=str))
    assert list(response.json()) == list(built)


# --- reviews a user wrote -------------------------------------------------------------------


def test_reviews_given_newest_first(api_client, user, worker, second_worker):
    older = make_review(reviewer=user, reviewee=worker, rating=2)
    newer = make_review(reviewer=user, reviewee=second_worker, rating=5)
    Review.objects.filter(pk=older.pk).update(created_at=timezone.now() - timedelta(days=2))
    make_review(reviewer=worker, reviewee=user)  # received by user: not in the list

    response = api_client.get(_given_url(user.id))

    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["count", "next", "previous", "results"]
    assert [r["id"] for r in body["results"]] == [newer.id, older.id]
    assert body["results"][0]["reviewer"] == {"id": user.id, "display_name": user.profile.display_name}
    assert body["results"][0]["reviewee"] == {
        "id": second_worker.id,
        "display_name": second_worker.profile.display_name,
    }


def test_reviews_given_are_paginated_with_canonical_links(api_client, user):
    _reviews_of(user, 25, given=True)

    first = api_client.get(_given_url(user.id)).json()

    assert first["count"] == 25
    assert first["next"] == f"/api/v1/users/{user.id}/reviews-given/?page=2"


@pytest.mark.parametrize("rows", [1, 25])
def test_reviews_given_query_count_anonymous(api_client, user, rows, django_assert_num_queries):
    _reviews_of(user, rows, given=True)

    # count, page (a reviewer with reviews exists; the existence query runs only for none)
    with django_assert_num_queries(2):
        response = api_client.get(_given_url(user.id))

    assert response.json()["count"] == rows


@pytest.mark.parametrize("rows", [1, 25])
def test_reviews_given_query_count_with_a_token(client_for, user, rows, django_assert_num_queries):
    _reviews_of(user, rows, given=True)
    client = client_for(user)

    # token, count, page
    with django_assert_num_queries(3):
        response = client.get(_given_url(user.id))

    assert response.json()["count"] == rows


def test_reviews_given_first_page_matches_the_cache_builders_rendering(api_client, user):
    _reviews_of(user, 25, given=True)

    response = api_client.get(_given_url(user.id))

    built = first_page(
        review_list_given(user_id=user.id), serializer_class=ReviewOutputSerializer, base_path=_given_url(user.id)
    )
    assert response.json() == json.loads(json.dumps(built, default=str))


# --- legacy twins ---------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["", "/"])
def test_legacy_reviews_received_match_canonical(api_client, user, suffix):
    _reviews_of(user, 25)

    canonical = api_client.get(_received_url(user.id))
    legacy = api_client.get(f"/reviews/{user.id}{suffix}")

    assert legacy.status_code == 200
    assert legacy.content == canonical.content
    assert legacy.json()["next"] == f"/api/v1/users/{user.id}/reviews/?page=2"


@pytest.mark.parametrize("suffix", ["/", ""])
def test_legacy_reviews_given_match_canonical(api_client, user, suffix):
    _reviews_of(user, 25, given=True)

    canonical = api_client.get(_given_url(user.id))
    legacy = api_client.get(f"/ratings/reviewer_{user.id}{suffix}")

    assert legacy.status_code == 200
    assert legacy.content == canonical.content
    assert legacy.json()["next"] == f"/api/v1/users/{user.id}/reviews-given/?page=2"


@pytest.mark.parametrize(
    "path", ["/reviews/{id}", "/reviews/{id}/", "/ratings/reviewer_{id}/", "/ratings/reviewer_{id}"]
)
def test_legacy_review_lists_of_an_unknown_user_are_404(api_client, db, path):
    assert_error(api_client.get(path.format(id=999999)), 404, code="not_found")


@pytest.mark.parametrize("path", ["/reviews/{id}", "/ratings/reviewer_{id}/"])
def test_legacy_review_lists_query_count(api_client, user, path, django_assert_num_queries):
    _reviews_of(user, 25)
    _reviews_of(user, 25, given=True)

    # two data queries each (see the canonical endpoints' counts)
    with django_assert_num_queries(2):
        response = api_client.get(path.format(id=user.id))

    assert response.json()["count"] == 25
