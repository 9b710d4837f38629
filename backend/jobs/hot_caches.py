"""Hot view of the jobs app: a job's detail."""

from backend.caching.registry import Dependency, HotView, register
from backend.jobs import selectors
from backend.jobs.models import Job
from backend.jobs.serializers import JobDetailOutputSerializer


def build_job_detail(job_id: int) -> dict | None:
    job = selectors.job_detail_get(job_id=job_id)
    return None if job is None else JobDetailOutputSerializer(job).data


JOB_DETAIL = register(
    HotView(
        namespace="job:detail",
        description="A job with its client summary and application counts.",
        build=build_job_detail,
        ttl=1800,
        depends_on=(
            Dependency("jobs.Job", id_fields=("pk",)),
            Dependency("jobs.Application", id_fields=("job",)),
            # The client's display name is shown on each of their jobs.
            Dependency(
                "accounts.Profile",
                fan_out=lambda profile: [(Job.objects.filter(client_id=profile.user_id), "id")],
                fan_out_when_changed=("display_name",),
            ),
        ),
        all_ids=lambda: Job.objects.order_by("id").values_list("id", flat=True).iterator(),
    )
)
