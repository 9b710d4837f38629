"""Hot views of the jobs app: a job's detail, the open-jobs feed, and the two lists each side opens every day.

- ``job:detail``: one job, keyed by its id.
- ``jobs:open``: the default first page of ``GET /api/v1/jobs/`` (key ``FEED_ALL``, 0) and of
  ``GET /api/v1/jobs/?city=<city>`` (key ``city_key(city)``, backend/jobs/models.py). Both key ids are
  columns of the job, derived by ``Job.save()``: ``feed_key`` (0 while open, null otherwise) and
  ``city_key``, so the declaration names every key a job's change makes stale, old and new values alike
  (a job leaving the feed, a job moving city).
- ``dashboard:applications`` and ``dashboard:jobs``: the default first page of
  ``GET /api/v1/me/applications/`` and ``GET /api/v1/me/jobs/``, keyed by the requesting user, private.
"""

from django.urls import reverse
from rest_framework.utils.urls import replace_query_param

from backend.caching.registry import Dependency, HotView, register
from backend.common.pagination import first_page
from backend.jobs import selectors
from backend.jobs.models import FEED_ALL, Application, Job, city_normal
from backend.jobs.serializers import (
    JobDetailOutputSerializer,
    JobListOutputSerializer,
    MyApplicationOutputSerializer,
    MyJobOutputSerializer,
)


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


def build_open_jobs(key_id: int) -> dict | None:
    """The default first page of the open-jobs list: every city for ``FEED_ALL``, else the city whose
    ``city_key`` is ``key_id``. Two queries: count and page (one when the count is 0).

    A city with no open job is None: stored like an unknown id, whose lifetime is bounded
    (``HOT_CACHE_NOT_FOUND_TTL``, docs/caching.md "Bounds"; anyone can ask for any city), and answered by
    the view as the empty page. A city's ``next`` link names the city as the list compares it
    (``city_normal``): every spelling of one city is one key, so one body.
    """
    jobs = selectors.job_list().filter(status=Job.Status.OPEN)
    base_path = reverse("job-list")
    if key_id != FEED_ALL:
        jobs = jobs.filter(city_key=key_id)
    page = first_page(jobs, serializer_class=JobListOutputSerializer, base_path=base_path)
    if key_id == FEED_ALL:
        return page
    if page["count"] == 0:
        return None
    if page["next"] is not None:
        city_path = replace_query_param(base_path, "city", city_normal(page["results"][0]["city"]))
        page["next"] = replace_query_param(city_path, "page", 2)
    return page


def _open_jobs_of_client(profile):
    open_jobs = Job.objects.filter(client_id=profile.user_id, status=Job.Status.OPEN)
    return [(open_jobs, "feed_key"), (open_jobs, "city_key")]


def _feed_ids():
    open_cities = Job.objects.filter(status=Job.Status.OPEN).order_by("city_key").values_list("city_key", flat=True)
    return [FEED_ALL, *open_cities.distinct()]


OPEN_JOBS = register(
    HotView(
        namespace="jobs:open",
        description="The first page of open jobs, soonest shift first: every city (key 0), or one city (its key).",
        build=build_open_jobs,
        ttl=600,
        depends_on=(
            # feed_key: the job is open before or after the change (it joins, leaves or changes in the feed);
            # city_key: its city's feed, old and new city (any change of a job of that city, open or not).
            Dependency("jobs.Job", id_fields=("feed_key", "city_key")),
            Dependency("accounts.User"),  # joined on the way to the client's display name
            Dependency("accounts.Profile", fan_out=_open_jobs_of_client, fan_out_when_changed=("display_name",)),
        ),
        all_ids=_feed_ids,
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


# What a worker's application list shows of each job (backend.jobs.selectors._APPLICATION_JOB_FIELDS).
_JOB_FIELDS_SHOWN_TO_APPLICANTS = ("title", "city", "pay_rate", "shift_start", "shift_end", "status")


def _applicants_of_job(job):
    return [(Application.objects.filter(job_id=job.pk), "applicant")]


def _applicants_to_jobs_of_client(profile):
    return [(Application.objects.filter(job__client_id=profile.user_id), "applicant")]


def _client_of_applied_job(application):
    if Application.job.is_cached(application):  # the service has it (application_create locks it): no query
        return [(application.job, "client")]
    return [(Job.objects.filter(pk=application.job_id), "client")]


def _users_with(model: type[Application] | type[Job], field: str):
    def ids():
        return model.objects.order_by(field).values_list(field, flat=True).distinct().iterator()

    return ids


MY_APPLICATIONS = register(
    HotView(
        namespace="dashboard:applications",
        description="The first page of a worker's own applications, newest first (GET /api/v1/me/applications/).",
        build=build_my_applications,
        ttl=600,
        depends_on=(
            Dependency("jobs.Application", id_fields=("applicant",)),
            Dependency("jobs.Job", fan_out=_applicants_of_job, fan_out_when_changed=_JOB_FIELDS_SHOWN_TO_APPLICANTS),
            Dependency("accounts.User"),  # joined on the way to the client's display name
            Dependency(
                "accounts.Profile", fan_out=_applicants_to_jobs_of_client, fan_out_when_changed=("display_name",)
            ),
        ),
        all_ids=_users_with(Application, "applicant_id"),
        private=True,
    )
)

MY_JOBS = register(
    HotView(
        namespace="dashboard:jobs",
        description="The first page of the jobs a client posted, with application counts (GET /api/v1/me/jobs/).",
        build=build_my_jobs,
        ttl=600,
        depends_on=(
            Dependency("jobs.Job", id_fields=("client",)),
            # The counts by status: a new application, a status change or a deletion.
            Dependency(
                "jobs.Application",
                fan_out=_client_of_applied_job,
                fan_out_when_changed=("status",),
                fan_out_on_create=True,
            ),
        ),
        all_ids=_users_with(Job, "client_id"),
        private=True,
    )
)
