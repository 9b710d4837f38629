"""Hot view of the jobs app: a job's detail; and the builders of the two lists each side opens every day.

``build_my_applications`` and ``build_my_jobs`` build the default first page of
``GET /api/v1/me/applications/`` and ``GET /api/v1/me/jobs/`` for one user id, as plain data (what a
hot view stores), and the views answer their default request with them. They are not registered as
hot views yet: that belongs to the whole-workload performance work (docs/caching.md, "Dashboards"),
which adds a ``HotView`` declaration (keyed by the requesting user, private, depending on that user's
Applications or Jobs, those jobs' Applications and the clients' display names) around them.
"""

from django.urls import reverse

from backend.caching.registry import Dependency, HotView, register
from backend.common.pagination import first_page
from backend.jobs import selectors
from backend.jobs.models import Job
from backend.jobs.serializers import JobDetailOutputSerializer, MyApplicationOutputSerializer, MyJobOutputSerializer


def build_job_detail(job_id: int) -> dict | None:
    job = selectors.job_detail_get(job_id=job_id)
    return None if job is None else JobDetailOutputSerializer(job).data


def _jobs_of_client(profile):
    return [(Job.objects.filter(client_id=profile.user_id), "id")]


JOB_DETAIL = register(
    HotView(
        namespace="job:detail",
        description="A job with its client summary and application counts.",
        build=build_job_detail,
        ttl=1800,
        depends_on=(
            Dependency("jobs.Job", id_fields=("pk",)),
            Dependency("jobs.Application", id_fields=("job",)),
            # Joined on the way to the client's profile, no column of it shown: read, but no change
            # of a user makes a job stale (deleting one deletes their jobs).
            Dependency("accounts.User"),
            # The client's display name is shown on each of their jobs.
            Dependency(
                "accounts.Profile",
                fan_out=_jobs_of_client,
                fan_out_when_changed=("display_name",),
            ),
        ),
        all_ids=lambda: Job.objects.order_by("id").values_list("id", flat=True).iterator(),
    )
)


def build_my_applications(user_id: int) -> dict:
    """The first page of the user's applications, newest first. Two queries: count and page."""
    return first_page(
        selectors.application_list_for_worker(user_id=user_id),
        serializer_class=MyApplicationOutputSerializer,
        base_path=reverse("me-applications"),
    )


def build_my_jobs(user_id: int) -> dict:
    """The first page of the jobs the user posted, newest first. Two queries: count and page."""
    return first_page(
        selectors.job_list_for_client(user_id=user_id),
        serializer_class=MyJobOutputSerializer,
        base_path=reverse("me-jobs"),
    )
