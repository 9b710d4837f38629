"""Reads of jobs and applications, each in one query (a list page: a count and the page)."""

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
