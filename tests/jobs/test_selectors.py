from datetime import timedelta

import pytest
from django.utils import timezone

from backend.jobs import selectors
from backend.jobs.models import Application, Job
from tests.factories import make_application, make_job

pytestmark = pytest.mark.django_db

AppStatus = Application.Status


def test_job_detail_get_reads_the_job_with_its_figures_in_one_query(user, django_assert_num_queries):
    job = make_job(client=user, slots=4)
    for status in (AppStatus.PENDING, AppStatus.ACCEPTED, AppStatus.ACCEPTED, AppStatus.REJECTED, AppStatus.WITHDRAWN):
        make_application(job=job, status=status)

    with django_assert_num_queries(1):
        found = selectors.job_detail_get(job_id=job.id)
        figures = (
            found.client_display_name,
            found.applications_pending,
            found.applications_accepted,
            found.applications_total,
        )

    assert found == job
    assert figures == ("owner", 1, 2, 5)


def test_job_detail_get_of_a_job_without_applications(user):
    found = selectors.job_detail_get(job_id=make_job(client=user).id)

    assert (found.applications_pending, found.applications_accepted, found.applications_total) == (0, 0, 0)


def test_job_detail_get_of_an_unknown_job_is_none(db, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert selectors.job_detail_get(job_id=999999) is None


@pytest.mark.parametrize("rows", [1, 25])
def test_job_list_reads_every_job_with_its_client_in_one_query(rows, django_assert_num_queries):
    now = timezone.now()
    for hours in range(rows, 0, -1):
        make_job(shift_start=now + timedelta(hours=hours), shift_end=now + timedelta(hours=hours + 1))

    with django_assert_num_queries(1):
        jobs = list(selectors.job_list())
        names = {job.client_display_name for job in jobs} | {job.title for job in jobs}

    assert len(jobs) == rows
    assert [job.shift_start for job in jobs] == sorted(job.shift_start for job in jobs)
    assert None not in names


def test_job_list_does_not_filter_by_status(db):
    make_job(status=Job.Status.CANCELLED)

    assert selectors.job_list().count() == 1


@pytest.mark.parametrize("rows", [1, 25])
def test_application_list_for_job_reads_applicants_in_one_query(rows, django_assert_num_queries):
    job = make_job()
    created = [make_application(job=job) for _ in range(rows)]
    make_application()

    with django_assert_num_queries(1):
        applications = list(selectors.application_list_for_job(job_id=job.id))
        names = [a.applicant_display_name for a in applications]

    assert [a.id for a in applications] == [a.id for a in created]
    assert names == [a.applicant.profile.display_name for a in created]


def test_job_client_id_get(user):
    job = make_job(client=user)

    assert selectors.job_client_id_get(job_id=job.id) == user.id
    assert selectors.job_client_id_get(job_id=job.id + 1000) is None
