from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError

from backend.common.errors import Conflict
from backend.jobs import services
from backend.jobs.models import Application, Job
from tests.factories import make_application, make_job, make_user

pytestmark = pytest.mark.django_db

AppStatus = Application.Status


def _schedule(hours: float = 8, starts_in: timedelta = timedelta(days=1)) -> dict:
    start = timezone.now() + starts_in
    return {"shift_start": start, "shift_end": start + timedelta(hours=hours)}


def test_job_create_posts_an_open_job(user):
    job = services.job_create(client=user, title="Cook", city="Kano", pay_rate=Decimal("12.00"), **_schedule())

    assert job.pk is not None
    assert job.status == Job.Status.OPEN
    assert job.slots == 1


@pytest.mark.parametrize(
    ("schedule", "attr"),
    [
        (_schedule(starts_in=timedelta(hours=-1)), "shift_start"),
        (_schedule(hours=0), "shift_end"),
        (_schedule(hours=-2), "shift_end"),
        (_schedule(hours=24.5), "shift_end"),
    ],
)
def test_job_create_refuses_a_bad_schedule(user, schedule, attr):
    with pytest.raises(ValidationError) as exc:
        services.job_create(client=user, title="Cook", city="Kano", pay_rate=Decimal("12.00"), **schedule)

    assert attr in exc.value.detail
    assert not Job.objects.exists()


def test_job_create_validates_field_values_before_saving(user):
    with pytest.raises(DjangoValidationError, match="title"):
        services.job_create(client=user, title="x" * 201, city="Kano", pay_rate=Decimal("12.00"), **_schedule())

    assert not Job.objects.exists()


def test_job_update_refuses_a_field_it_does_not_own(user):
    job = make_job(client=user)

    with pytest.raises(ValueError, match="status"):
        services.job_update(job_id=job.id, user=user, status=Job.Status.COMPLETED)


def test_job_update_checks_who_and_which_job(user, other_user):
    job = make_job(client=user)

    with pytest.raises(PermissionDenied):
        services.job_update(job_id=job.id, user=other_user, title="Mine now")
    with pytest.raises(NotFound):
        services.job_update(job_id=job.id + 1000, user=user, title="Nothing")


def test_accept_never_exceeds_the_slots(user):
    job = make_job(client=user, slots=3)
    applications = [make_application(job=job) for _ in range(10)]

    accepted, refused = 0, 0
    for application in applications:
        try:
            services.application_accept(application_id=application.id, user=user)
            accepted += 1
        except Conflict:
            refused += 1

    assert (accepted, refused) == (3, 7)
    assert job.applications.filter(status=AppStatus.ACCEPTED).count() == 3
    assert job.applications.filter(status=AppStatus.PENDING).count() == 7
    job.refresh_from_db()
    assert job.status == Job.Status.FILLED


def test_accept_counts_accepted_applications_even_if_the_job_still_says_open(user):
    # A job left open with every slot taken (say, by data loaded outside the services) still refuses.
    job = make_job(client=user, slots=1)
    make_application(job=job, status=AppStatus.ACCEPTED)
    application = make_application(job=job)

    with pytest.raises(Conflict):
        services.application_accept(application_id=application.id, user=user)

    application.refresh_from_db()
    assert application.status == AppStatus.PENDING


def test_withdrawing_an_accepted_application_frees_its_slot(user, other_user):
    job = make_job(client=user, slots=2)
    mine = make_application(job=job, applicant=other_user)
    services.application_accept(application_id=mine.id, user=user)
    second = make_application(job=job)
    services.application_accept(application_id=second.id, user=user)
    job.refresh_from_db()
    assert job.status == Job.Status.FILLED

    services.application_withdraw(application_id=mine.id, user=other_user)

    job.refresh_from_db()
    assert job.status == Job.Status.OPEN
    third = make_application(job=job)
    services.application_accept(application_id=third.id, user=user)
    job.refresh_from_db()
    assert job.status == Job.Status.FILLED


def test_withdrawing_an_accepted_application_from_an_open_job_leaves_it_open(user, other_user):
    job = make_job(client=user, slots=3)
    application = make_application(job=job, applicant=other_user, status=AppStatus.ACCEPTED)

    services.application_withdraw(application_id=application.id, user=other_user)

    job.refresh_from_db()
    assert job.status == Job.Status.OPEN


def test_cancelling_a_job_leaves_its_applications_as_they_were(user):
    job = make_job(client=user, slots=2)
    accepted = make_application(job=job, status=AppStatus.ACCEPTED)
    pending = make_application(job=job)

    services.job_cancel(job_id=job.id, user=user)

    assert {a.id: a.status for a in job.applications.all()} == {
        accepted.id: AppStatus.ACCEPTED,
        pending.id: AppStatus.PENDING,
    }


def test_a_second_application_is_a_conflict_and_the_transaction_goes_on(user, other_user):
    job = make_job(client=user)
    services.application_create(job_id=job.id, applicant=other_user)

    with pytest.raises(Conflict):
        services.application_create(job_id=job.id, applicant=other_user, cover_note="Again")

    # The refused insert was rolled back to its savepoint: the surrounding transaction still works.
    assert Application.objects.filter(job=job).count() == 1
    assert Application.objects.get(job=job).cover_note == ""


def test_the_database_refuses_a_second_application_of_the_same_user(user, other_user):
    job = make_job(client=user)
    make_application(job=job, applicant=other_user)

    with pytest.raises(IntegrityError), transaction.atomic():
        Application.objects.create(job=job, applicant=other_user)


def test_only_staff_and_the_parties_can_see_an_application(user, other_user, staff_user):
    application = make_application(job=make_job(client=user), applicant=other_user)

    with pytest.raises(NotFound):
        services.application_reject(application_id=application.id, user=make_user())
    with pytest.raises(PermissionDenied):
        services.application_reject(application_id=application.id, user=staff_user)
    with pytest.raises(PermissionDenied):
        services.application_reject(application_id=application.id, user=other_user)
    assert services.application_reject(application_id=application.id, user=user).status == AppStatus.REJECTED
