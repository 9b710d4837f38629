"""Writes to jobs and applications, and the rules of their states.

A job moves open -> filled (its accepted applications reach its slots) -> in_progress ->
completed, and can be cancelled while open or filled; a filled job whose accepted worker
withdraws is open again. An application moves pending -> accepted / rejected / withdrawn, and an
accepted one can still be withdrawn.

Marketplace rules (issue 12), each refusal a 409 with its own code:

- Shift timing: a job starts no earlier than ``EARLY_START_TOLERANCE`` (15 minutes) before its shift
  (``shift_not_open``), and is completed only once its shift has begun (``shift_not_begun``; it must be
  in progress, so started, too). A client cannot start and complete a job days before its shift and
  then pay and review it. No database constraint can say this: it compares with the clock, and the
  job records no start time.
- Terms fixed once someone is hired: once a job has an accepted application, its pay rate, shift
  times and city cannot change (``terms_locked``): the worker accepted those terms. Sending the current
  value is no change. A job whose accepted workers all withdrew can be changed again. The check runs
  under the job's row lock, which ``application_accept`` takes too, so a change and an accept racing
  each other are decided one after the other: the accept sees the new terms, or the change is refused.

Every write takes the job row's lock (``select_for_update``) first, so writes to one job and its
applications happen one after the other: two accepts can never both take the last slot. Who may
act is checked on the row read under that lock, so the check and the write see the same state
and cost no extra query. Counts that a decision depends on are read by a statement issued after
the lock is held: a subquery in the locking statement itself would be evaluated on the snapshot
taken before the lock was granted (PostgreSQL, READ COMMITTED) and could miss the write that
held the lock.
"""

from datetime import datetime, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError

from backend.accounts.models import User
from backend.common.errors import Conflict
from backend.common.validation import validate_field_values
from backend.jobs.models import Application, Job
from backend.jobs.selectors import application_queryset

JOB_FIELDS = ("title", "description", "city", "address", "pay_rate", "shift_start", "shift_end", "slots")
# What an accepted worker agreed to: fixed once an application is accepted.
TERMS_FIELDS = ("pay_rate", "shift_start", "shift_end", "city")
MAX_SHIFT_LENGTH = timedelta(hours=24)
# How early before its shift a job may be started: workers arrive a little early to be briefed.
EARLY_START_TOLERANCE = timedelta(minutes=15)


def _validate_schedule(*, shift_start: datetime, shift_end: datetime, start_changed: bool) -> None:
    if start_changed and shift_start <= timezone.now():
        raise ValidationError({"shift_start": ["The shift must start in the future."]}, code="in_past")
    if shift_end <= shift_start:
        raise ValidationError({"shift_end": ["The shift must end after it starts."]}, code="before_start")
    if shift_end - shift_start > MAX_SHIFT_LENGTH:
        raise ValidationError({"shift_end": ["A shift lasts at most 24 hours."]}, code="too_long")


def _lock_own_job(*, job_id: int, user: User) -> Job:
    """The job, locked for this transaction; 404 if unknown, 403 unless ``user`` posted it."""
    job = Job.objects.select_for_update().filter(pk=job_id).first()
    if job is None:
        raise NotFound()
    if job.client_id != user.id:
        raise PermissionDenied("Only the client who posted this job can change it.")
    return job


def _accepted_count(*, job_id: int) -> int:
    return Application.objects.filter(job_id=job_id, status=Application.Status.ACCEPTED).count()


def _set_job_status(job: Job, status: str) -> None:
    job.status = status
    job.save(update_fields=["status", "updated_at"])


@transaction.atomic
def job_create(
    *,
    client: User,
    title: str,
    city: str,
    pay_rate: Decimal,
    shift_start: datetime,
    shift_end: datetime,
    description: str = "",
    address: str = "",
    slots: int = 1,
) -> Job:
    """Post a job for ``client``; it starts open."""
    _validate_schedule(shift_start=shift_start, shift_end=shift_end, start_changed=True)
    job = Job(
        client=client,
        title=title,
        description=description,
        city=city,
        address=address,
        pay_rate=pay_rate,
        shift_start=shift_start,
        shift_end=shift_end,
        slots=slots,
    )
    validate_field_values(job)
    job.save()
    return job


@transaction.atomic
def job_update(*, job_id: int, user: User, **fields) -> Job:
    """Change an open job's fields (its client only).

    Once an application is accepted, ``TERMS_FIELDS`` cannot change: a 409 ``terms_locked``.

    ``slots`` cannot drop below the accepted applications; dropping to exactly that number fills
    the job, as accepting the last worker would.
    """
    job = _lock_own_job(job_id=job_id, user=user)
    # Read once, and only when a rule needs it: after the lock, so current.
    accepted = None
    changed_terms = sorted(name for name in TERMS_FIELDS if name in fields and fields[name] != getattr(job, name))
    if changed_terms and (accepted := _accepted_count(job_id=job.id)):
        raise Conflict(
            f"An application to this job is accepted: its terms ({', '.join(changed_terms)}) can no longer change.",
            code="terms_locked",
        )
    if job.status != Job.Status.OPEN:
        raise Conflict(f"Only an open job can be edited; this one is {job.status}.")
    previous_start = job.shift_start
    for name, value in fields.items():
        if name not in JOB_FIELDS:
            raise ValueError(f"Not a job field: {name}")
        setattr(job, name, value)
    if "shift_start" in fields or "shift_end" in fields:
        _validate_schedule(
            shift_start=job.shift_start, shift_end=job.shift_end, start_changed=job.shift_start != previous_start
        )
    if "slots" in fields:
        if accepted is None:
            accepted = _accepted_count(job_id=job.id)
        if job.slots < accepted:
            raise ValidationError(
                {"slots": [f"{accepted} applications are already accepted; slots cannot be fewer."]},
                code="below_accepted",
            )
        if job.slots == accepted:
            job.status = Job.Status.FILLED
    validate_field_values(job)
    job.save()
    return job


@transaction.atomic
def job_cancel(*, job_id: int, user: User) -> Job:
    """Cancel an open or filled job (its client only). Its applications keep their status."""
    job = _lock_own_job(job_id=job_id, user=user)
    if job.status not in (Job.Status.OPEN, Job.Status.FILLED):
        raise Conflict(f"Only an open or filled job can be cancelled; this one is {job.status}.")
    _set_job_status(job, Job.Status.CANCELLED)
    return job


@transaction.atomic
def job_start(*, job_id: int, user: User) -> Job:
    """Start the shift of an open or filled job with at least one accepted worker (its client only).

    Not earlier than ``EARLY_START_TOLERANCE`` before ``shift_start``: a 409 ``shift_not_open``.
    """
    job = _lock_own_job(job_id=job_id, user=user)
    if job.status not in (Job.Status.OPEN, Job.Status.FILLED):
        raise Conflict(f"Only an open or filled job can be started; this one is {job.status}.")
    opens = job.shift_start - EARLY_START_TOLERANCE
    if timezone.now() < opens:
        raise Conflict(
            f"The shift opens at {opens.isoformat()} ({EARLY_START_TOLERANCE.seconds // 60} minutes before it "
            "starts); the job cannot start earlier.",
            code="shift_not_open",
        )
    if _accepted_count(job_id=job.id) == 0:
        raise Conflict("A job needs at least one accepted application to start.")
    _set_job_status(job, Job.Status.IN_PROGRESS)
    return job


@transaction.atomic
def job_complete(*, job_id: int, user: User) -> Job:
    """Mark a job in progress as completed (its client only), once its shift has begun (else a 409
    ``shift_not_begun``)."""
    job = _lock_own_job(job_id=job_id, user=user)
    if job.status != Job.Status.IN_PROGRESS:
        raise Conflict(f"Only a job in progress can be completed; this one is {job.status}.")
    if timezone.now() < job.shift_start:
        raise Conflict(
            f"The shift begins at {job.shift_start.isoformat()}; the job cannot be completed before.",
            code="shift_not_begun",
        )
    _set_job_status(job, Job.Status.COMPLETED)
    return job


@transaction.atomic
def application_create(*, job_id: int, applicant: User, cover_note: str = "") -> Application:
    """Apply to an open job, once per job; not to one's own job.

    The second application of a user to a job is refused by the database's unique constraint
    (which also settles two concurrent first applications), turned into a 409 here.
    """
    job = Job.objects.select_for_update().filter(pk=job_id).first()
    if job is None:
        raise NotFound()
    if job.client_id == applicant.id:
        raise PermissionDenied("You cannot apply to your own job.")
    if job.status != Job.Status.OPEN:
        raise Conflict(f"Only an open job takes applications; this one is {job.status}.")
    application = Application(job=job, applicant=applicant, cover_note=cover_note)
    validate_field_values(application)
    try:
        with transaction.atomic():
            application.save()
    except IntegrityError as exc:
        raise Conflict("You have already applied to this job.") from exc
    return application


def _lock_application(*, application_id: int, user: User) -> tuple[Job, Application]:
    """The application's job, locked, and the application read after the lock (so current).

    A user who is neither the applicant, nor the job's client, nor staff cannot see the
    application: 404, as for an unknown one. The application carries ``job_accepted``, the
    number of accepted applications of its job.
    """
    job = Job.objects.select_for_update(of=("self",)).filter(applications__id=application_id).first()
    if job is None:
        raise NotFound()
    accepted = (
        Application.objects.filter(job=OuterRef("job_id"), status=Application.Status.ACCEPTED)
        .order_by()
        .values("job")
        .annotate(n=Count("pk"))
        .values("n")
    )
    application = application_queryset().annotate(job_accepted=Coalesce(Subquery(accepted), 0)).get(pk=application_id)
    if user.id not in (application.applicant_id, job.client_id) and not user.is_staff:
        raise NotFound()
    return job, application


def _set_application_status(application: Application, status: str) -> None:
    application.status = status
    application.save(update_fields=["status", "updated_at"])


@transaction.atomic
def application_accept(*, application_id: int, user: User) -> Application:
    """Accept a pending application to an open job (the job's client only); the last slot fills the job."""
    job, application = _lock_application(application_id=application_id, user=user)
    if user.id != job.client_id:
        raise PermissionDenied("Only the job's client can accept an application.")
    if application.status != Application.Status.PENDING:
        raise Conflict(f"Only a pending application can be accepted; this one is {application.status}.")
    if job.status != Job.Status.OPEN or application.job_accepted >= job.slots:
        raise Conflict(f"The job has no open slot; it is {job.status}.")
    _set_application_status(application, Application.Status.ACCEPTED)
    if application.job_accepted + 1 >= job.slots:
        _set_job_status(job, Job.Status.FILLED)
    return application


@transaction.atomic
def application_reject(*, application_id: int, user: User) -> Application:
    """Reject a pending application (the job's client only)."""
    job, application = _lock_application(application_id=application_id, user=user)
    if user.id != job.client_id:
        raise PermissionDenied("Only the job's client can reject an application.")
    if application.status != Application.Status.PENDING:
        raise Conflict(f"Only a pending application can be rejected; this one is {application.status}.")
    _set_application_status(application, Application.Status.REJECTED)
    return application


@transaction.atomic
def application_withdraw(*, application_id: int, user: User) -> Application:
    """Withdraw one's pending or accepted application while the job is open or filled.

    Withdrawing an accepted application frees its slot: a filled job is open again.
    """
    job, application = _lock_application(application_id=application_id, user=user)
    if user.id != application.applicant_id:
        raise PermissionDenied("Only the applicant can withdraw an application.")
    if application.status not in (Application.Status.PENDING, Application.Status.ACCEPTED):
        raise Conflict(f"Only a pending or accepted application can be withdrawn; this one is {application.status}.")
    if job.status not in (Job.Status.OPEN, Job.Status.FILLED):
        raise Conflict(f"Applications can be withdrawn only while the job is open or filled; it is {job.status}.")
    was_accepted = application.status == Application.Status.ACCEPTED
    _set_application_status(application, Application.Status.WITHDRAWN)
    if was_accepted and job.status == Job.Status.FILLED:
        _set_job_status(job, Job.Status.OPEN)
    return application
