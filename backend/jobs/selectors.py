"""Reads of jobs and applications, each in one query (a list page: a count and the page)."""

from datetime import datetime

from django.db.models import Count, F, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from backend.jobs.models import Application, Job

# What a job list item shows; the description (up to 10,000 characters) stays in the database.
_JOB_LIST_FIELDS = ("id", "title", "city", "pay_rate", "shift_start", "shift_end", "slots", "status", "client_id")


def _application_count(applications: QuerySet[Application]) -> Coalesce:
    """How many of a job's ``applications`` (filtered on ``OuterRef("pk")``) there are, as a subquery."""
    counted = applications.order_by().values("job").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted), 0)


def job_list() -> QuerySet[Job]:
    """Jobs with their client's display name, in shift order. Filtering is ``JobFilter``'s job."""
    return (
        Job.objects.only(*_JOB_LIST_FIELDS)
        .annotate(client_display_name=F("client__profile__display_name"))
        .order_by("shift_start", "id")
    )


def job_detail_queryset() -> QuerySet[Job]:
    """Jobs with the client summary (id, display name) and application counts.

    Every figure is a correlated subquery, so one row of the job table is one query, whatever the
    number of applications behind it. Application counts read the (job, status) index. The
    client's rating is left to their profile: a job detail that showed it would go stale with
    every review the client receives (see docs/caching.md).
    """
    applications = Application.objects.filter(job=OuterRef("pk"))
    return Job.objects.annotate(
        client_display_name=F("client__profile__display_name"),
        applications_pending=_application_count(applications.filter(status=Application.Status.PENDING)),
        applications_accepted=_application_count(applications.filter(status=Application.Status.ACCEPTED)),
        applications_total=_application_count(applications),
    )


def job_detail_get(*, job_id: int) -> Job | None:
    """A job as its detail page shows it (see ``job_detail_queryset``), or None. One query."""
    return job_detail_queryset().filter(pk=job_id).first()


def job_client_id_get(*, job_id: int) -> int | None:
    """The id of the job's client (who may see its applications), or None for an unknown job. One query."""
    return Job.objects.filter(pk=job_id).values_list("client_id", flat=True).first()


def application_queryset() -> QuerySet[Application]:
    """Applications with their applicant's display name."""
    return Application.objects.annotate(applicant_display_name=F("applicant__profile__display_name"))


def application_get(*, application_id: int) -> Application | None:
    """An application as the API shows it, or None. One query."""
    return application_queryset().filter(pk=application_id).first()


def application_list_for_job(*, job_id: int) -> QuerySet[Application]:
    """A job's applications, oldest first. Filtering by status is ``ApplicationFilter``'s job."""
    return application_queryset().filter(job_id=job_id).order_by("created_at", "id")


# --- the caller's own lists: GET /api/v1/me/applications/ and /api/v1/me/jobs/ -------------------------------

# What a worker's application list shows of each job (the job summary); the description stays in the database.
_APPLICATION_JOB_FIELDS = ("title", "city", "pay_rate", "shift_start", "shift_end", "status", "client_id")
# A job still ahead of (or in) its shift: an accepted application to a cancelled or completed job is not upcoming.
_JOB_STATUSES_AHEAD = (Job.Status.OPEN, Job.Status.FILLED, Job.Status.IN_PROGRESS)


def application_list_for_worker(*, user_id: int) -> QuerySet[Application]:
    """The applications ``user_id`` made, newest first (``created_at``, then id, descending).

    Each comes with its job (the fields of ``_APPLICATION_JOB_FIELDS``) and the job's client's
    display name (``client_display_name``), joined in: one query per page, whatever the page size.
    Walks the ``(applicant, created_at, id)`` index; with a status filter, the
    ``(applicant, status, created_at, id)`` one. Filtering is ``MyApplicationFilter``'s job.
    """
    return (
        Application.objects.filter(applicant_id=user_id)
        .select_related("job")
        .only(
            "id",
            "applicant_id",
            "cover_note",
            "status",
            "created_at",
            "updated_at",
            "job__id",
            *(f"job__{name}" for name in _APPLICATION_JOB_FIELDS),
        )
        .annotate(client_display_name=F("job__client__profile__display_name"))
        .order_by("-created_at", "-id")
    )


def applications_upcoming(applications: QuerySet[Application], *, now: datetime) -> QuerySet[Application]:
    """Of ``applications``, the accepted ones whose shift has not ended at ``now`` (``shift_end > now``).

    Shifts under way come first: ordered by the shift's start (soonest first), then by job id and
    application id, so the order is total. Jobs that were cancelled or completed are left out
    (their shift will not take place, or is over), whatever their shift times say.
    """
    return applications.filter(
        status=Application.Status.ACCEPTED, job__shift_end__gt=now, job__status__in=_JOB_STATUSES_AHEAD
    ).order_by("job__shift_start", "job_id", "id")


def job_list_for_client(*, user_id: int) -> QuerySet[Job]:
    """The jobs ``user_id`` posted, in every status, newest first (``created_at``, then id, descending).

    Each carries its application counts by status (``applications_pending``, ``_accepted``,
    ``_rejected``, ``_withdrawn``): correlated subqueries on the ``(job, status)`` index, so a page is
    one query whatever the number of applications. Walks the ``(client, created_at, id)`` index;
    with a status filter, the ``(client, status, created_at, id)`` one. Filtering is
    ``MyJobFilter``'s job.
    """
    applications = Application.objects.filter(job=OuterRef("pk"))
    counts = {
        f"applications_{status}": _application_count(applications.filter(status=status))
        for status in Application.Status.values
    }
    return (
        Job.objects.filter(client_id=user_id)
        .only(*_JOB_LIST_FIELDS, "created_at", "updated_at")
        .annotate(**counts)
        .order_by("-created_at", "-id")
    )
