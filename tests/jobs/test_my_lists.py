"""The lists each side opens every day (issue 12): a worker's applications, a client's posted jobs.

``GET /api/v1/me/applications/`` and ``GET /api/v1/me/jobs/``: only the caller's own rows, newest
first, filters, the upcoming shifts, pagination, exact query counts with 1 and 25 rows, and the
default page built by the (not yet registered) hot-view builders, byte for byte the paginated list.
"""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from backend.jobs import hot_caches
from backend.jobs.models import Application, Job
from tests.assertions import assert_error
from tests.factories import make_application, make_job, make_user

pytestmark = pytest.mark.django_db

Status = Job.Status
AppStatus = Application.Status
MY_APPLICATIONS = "/api/v1/me/applications/"
MY_JOBS = "/api/v1/me/jobs/"


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["results"]]


def _shift(days: float, hours: float = 6) -> dict:
    start = timezone.now() + timedelta(days=days)
    return {"shift_start": start, "shift_end": start + timedelta(hours=hours)}


# --- a worker's applications --------------------------------------------------------------------


def test_my_applications_are_mine_newest_first_with_their_job_summary(client_for, user, other_user):
    poster = make_user(email="poster@example.com")
    poster.profile.display_name = "Adeyemi Events"
    poster.profile.save()
    older = make_application(job=make_job(client=poster, title="Usher"), applicant=user)
    newer = make_application(
        job=make_job(client=poster, title="Bar staff", city="Abuja"), applicant=user, status=AppStatus.ACCEPTED
    )
    make_application(job=older.job, applicant=other_user)  # someone else's

    response = client_for(user).get(MY_APPLICATIONS)

    assert _ids(response) == [newer.id, older.id]
    assert response.json()["count"] == 2
    job = newer.job
    assert response.json()["results"][0] == {
        "id": newer.id,
        "status": "accepted",
        "job": {
            "id": job.id,
            "title": "Bar staff",
            "city": "Abuja",
            "shift_start": _iso(job.shift_start),
            "shift_end": _iso(job.shift_end),
            "pay_rate": "15.50",
            "status": "open",
            "client": {"id": poster.id, "display_name": "Adeyemi Events"},
        },
        "cover_note": "Keen.",
        "created_at": _iso(newer.created_at),
        "updated_at": _iso(newer.updated_at),
    }


def test_my_applications_filter_by_status(client_for, user):
    make_application(applicant=user)
    rejected = make_application(applicant=user, status=AppStatus.REJECTED)

    assert _ids(client_for(user).get(f"{MY_APPLICATIONS}?status=rejected")) == [rejected.id]
    assert_error(client_for(user).get(f"{MY_APPLICATIONS}?status=lost"), 400, code="invalid_choice", attr="status")


def test_upcoming_lists_accepted_shifts_not_ended_soonest_first_a_shift_under_way_first(client_for, user):
    # given: accepted applications to shifts ahead, under way and over, and others that are not upcoming
    in_a_week = make_application(job=make_job(**_shift(7)), applicant=user, status=AppStatus.ACCEPTED)
    tomorrow = make_application(
        job=make_job(status=Status.FILLED, **_shift(1)), applicant=user, status=AppStatus.ACCEPTED
    )
    under_way = make_application(
        job=make_job(status=Status.IN_PROGRESS, **_shift(-0.1)), applicant=user, status=AppStatus.ACCEPTED
    )
    make_application(job=make_job(status=Status.COMPLETED, **_shift(-2)), applicant=user, status=AppStatus.ACCEPTED)
    make_application(job=make_job(status=Status.CANCELLED, **_shift(3)), applicant=user, status=AppStatus.ACCEPTED)
    make_application(job=make_job(**_shift(2)), applicant=user, status=AppStatus.PENDING)
    make_application(job=make_job(**_shift(2)), applicant=user, status=AppStatus.REJECTED)
    make_application(job=make_job(**_shift(2)), status=AppStatus.ACCEPTED)  # someone else's

    # when
    response = client_for(user).get(f"{MY_APPLICATIONS}?upcoming=true")

    # then
    assert _ids(response) == [under_way.id, tomorrow.id, in_a_week.id]


def test_upcoming_shifts_starting_together_are_ordered_by_job_then_application(client_for, user):
    shift = _shift(2)
    first, second = make_job(**shift), make_job(**shift)
    # applied to the later job first: the job's id decides, not the application's
    to_second = make_application(job=second, applicant=user, status=AppStatus.ACCEPTED)
    to_first = make_application(job=first, applicant=user, status=AppStatus.ACCEPTED)

    assert _ids(client_for(user).get(f"{MY_APPLICATIONS}?upcoming=true")) == [to_first.id, to_second.id]


def test_upcoming_false_is_every_application_and_anything_else_is_a_400(client_for, user):
    applications = [make_application(applicant=user, status=status) for status in AppStatus.values]
    client = client_for(user)

    assert _ids(client.get(f"{MY_APPLICATIONS}?upcoming=false")) == [a.id for a in reversed(applications)]
    for value in ("yes", "1", "True", ""):
        if value:
            assert_error(client.get(f"{MY_APPLICATIONS}?upcoming={value}"), 400, code="invalid", attr="upcoming")
    # An empty value is no filter, as for every other filter of the API.
    assert len(_ids(client.get(f"{MY_APPLICATIONS}?upcoming="))) == len(applications)


def test_upcoming_with_a_status_other_than_accepted_is_empty(client_for, user):
    make_application(job=make_job(**_shift(2)), applicant=user, status=AppStatus.PENDING)

    assert _ids(client_for(user).get(f"{MY_APPLICATIONS}?upcoming=true&status=pending")) == []


# --- a client's posted jobs ---------------------------------------------------------------------


def test_my_jobs_are_mine_in_every_status_newest_first_with_applications_counted(client_for, user, other_user):
    jobs = [make_job(client=user, status=status, slots=3) for status in Status.values]
    make_job(client=other_user)  # someone else's
    counted = jobs[0]
    for status, count in ((AppStatus.PENDING, 3), (AppStatus.ACCEPTED, 2), (AppStatus.REJECTED, 1)):
        for _ in range(count):
            make_application(job=counted, status=status)
    make_application(job=counted, status=AppStatus.WITHDRAWN)

    response = client_for(user).get(MY_JOBS)

    assert _ids(response) == [job.id for job in reversed(jobs)]
    assert response.json()["results"][-1] == {
        "id": counted.id,
        "title": "Warehouse shift",
        "city": "Lagos",
        "pay_rate": "15.50",
        "shift_start": _iso(counted.shift_start),
        "shift_end": _iso(counted.shift_end),
        "slots": 3,
        "slots_filled": 2,
        "status": "open",
        "applications": {"pending": 3, "accepted": 2, "rejected": 1, "withdrawn": 1, "total": 7},
        "created_at": _iso(counted.created_at),
        "updated_at": _iso(counted.updated_at),
    }
    assert response.json()["results"][0]["applications"] == {
        "pending": 0,
        "accepted": 0,
        "rejected": 0,
        "withdrawn": 0,
        "total": 0,
    }


def test_my_jobs_filter_by_status(client_for, user):
    make_job(client=user)
    cancelled = make_job(client=user, status=Status.CANCELLED)

    assert _ids(client_for(user).get(f"{MY_JOBS}?status=cancelled")) == [cancelled.id]
    assert_error(client_for(user).get(f"{MY_JOBS}?status=closed"), 400, code="invalid_choice", attr="status")


# --- both -----------------------------------------------------------------------------------------


def _seed_applications(user, rows: int) -> None:
    poster = make_user()
    for _ in range(rows):
        make_application(job=make_job(client=poster, **_shift(2)), applicant=user, status=AppStatus.ACCEPTED)


def _seed_jobs(user, rows: int) -> None:
    for _ in range(rows):
        job = make_job(client=user)
        make_application(job=job)
        make_application(job=job, status=AppStatus.ACCEPTED)


QUERY_CASES = [
    # (path, seeding, queries: token + count + page)
    (MY_APPLICATIONS, _seed_applications, 3),
    (f"{MY_APPLICATIONS}?status=accepted", _seed_applications, 3),
    (f"{MY_APPLICATIONS}?upcoming=true", _seed_applications, 3),
    (f"{MY_APPLICATIONS}?upcoming=true&status=accepted&page_size=100", _seed_applications, 3),
    (MY_JOBS, _seed_jobs, 3),
    (f"{MY_JOBS}?status=open", _seed_jobs, 3),
    (f"{MY_JOBS}?page_size=100", _seed_jobs, 3),
]


@pytest.mark.parametrize("rows", [1, 25])
@pytest.mark.parametrize(("path", "seeding", "queries"), QUERY_CASES)
def test_a_page_costs_token_count_and_page_whatever_the_rows(
    client_for, user, rows, path, seeding, queries, django_assert_num_queries
):
    seeding(user, rows)
    client = client_for(user)

    with django_assert_num_queries(queries):
        response = client.get(path)

    assert response.json()["count"] == rows
    assert len(response.json()["results"]) == min(rows, 100 if "page_size=100" in path else 20)


@pytest.mark.parametrize(("path", "seeding"), [(MY_APPLICATIONS, _seed_applications), (MY_JOBS, _seed_jobs)])
def test_the_default_page_is_the_builders_and_the_same_as_the_paginated_list(client_for, user, path, seeding):
    seeding(user, 25)
    client = client_for(user)

    default = client.get(path)
    paginated = client.get(f"{path}?page=1")
    second = client.get(f"{path}?page=2")

    assert default.status_code == paginated.status_code == second.status_code == 200
    assert default.content == paginated.content
    assert default.json()["next"] == f"{path}?page=2"
    assert second.json()["previous"] == path
    assert len(second.json()["results"]) == 5
    build = {MY_APPLICATIONS: hot_caches.build_my_applications, MY_JOBS: hot_caches.build_my_jobs}[path]
    assert build(user.id) == default.json()


@pytest.mark.parametrize("path", [MY_APPLICATIONS, MY_JOBS])
def test_someone_with_none_gets_an_empty_list(client_for, user, path):
    make_application()  # another worker's application to another client's job

    response = client_for(user).get(path)

    assert response.json() == {"count": 0, "next": None, "previous": None, "results": []}


@pytest.mark.parametrize("path", [MY_APPLICATIONS, MY_JOBS])
def test_an_unknown_query_parameter_is_a_400(client_for, user, path):
    response = client_for(user).get(f"{path}?stauts=accepted")

    assert_error(response, 400, code="unknown_parameter")


@pytest.mark.parametrize("path", [MY_APPLICATIONS, MY_JOBS])
def test_the_lists_are_private_and_need_a_token(api_client, client_for, user, path):
    assert_error(api_client.get(path), 401)

    directives = {part.strip() for part in client_for(user).get(path)["Cache-Control"].split(",")}
    assert {"private", "no-store"} <= directives
