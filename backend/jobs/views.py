from drf_spectacular.utils import extend_schema, extend_schema_view
from drf_standardized_errors.openapi_serializers import ErrorResponse403Serializer
from drf_standardized_errors.openapi_validation_errors import extend_validation_errors
from rest_framework import generics, status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.permissions import IsAuthenticatedOrReadOnly
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.caching.views import HotCachedMixin
from backend.common.openapi import LEGACY_DESCRIPTION, ErrorResponse409Serializer
from backend.jobs import hot_caches, selectors, services
from backend.jobs.filters import ApplicationFilter, JobFilter, MyApplicationFilter, MyJobFilter
from backend.jobs.models import Application, Job
from backend.jobs.serializers import (
    ApplicationCreateInputSerializer,
    ApplicationOutputSerializer,
    JobDetailOutputSerializer,
    JobInputSerializer,
    JobListOutputSerializer,
    MyApplicationOutputSerializer,
    MyJobOutputSerializer,
)


def _job_detail_response(job_id: int, *, status_code: int = status.HTTP_200_OK) -> Response:
    job = selectors.job_detail_get(job_id=job_id)
    if job is None:
        raise NotFound()
    return Response(JobDetailOutputSerializer(job).data, status=status_code)


def _schedule_errors(*, method: str):
    """The schedule rules the service checks (backend.jobs.services), declared for the schema."""

    def decorate(view):
        view = extend_validation_errors(["in_past"], field_name="shift_start", methods=[method])(view)
        return extend_validation_errors(["before_start", "too_long"], field_name="shift_end", methods=[method])(view)

    return decorate


@_schedule_errors(method="post")
class JobListView(generics.ListAPIView):
    """Open jobs, soonest shift first; filter by status, city, shift start, client, or search text.

    Without `status` only open jobs are listed. No authentication needed to read; posting a job
    needs a token, and the poster is the job's client.
    """

    permission_classes = [IsAuthenticatedOrReadOnly]
    serializer_class = JobListOutputSerializer
    filterset_class = JobFilter

    def get_queryset(self):
        return selectors.job_list()

    @extend_schema(tags=["jobs"])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        tags=["jobs"],
        summary="Post a job",
        description=(
            "Post a job as its client. The shift must start in the future and last at most 24 hours. "
            "Returns the job as `GET /api/v1/jobs/{job_id}/` shows it."
        ),
        request=JobInputSerializer,
        responses={201: JobDetailOutputSerializer},
    )
    def post(self, request):
        data = JobInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        job = services.job_create(client=request.user, **data.validated_data)
        return _job_detail_response(job.id, status_code=status.HTTP_201_CREATED)


@_schedule_errors(method="patch")
@extend_validation_errors(["below_accepted"], field_name="slots", methods=["patch"])
class JobDetailView(HotCachedMixin, APIView):
    """A job with its client summary, its application counts and the slots still free.

    No authentication needed to read. Only the job's client can edit it, and only while it is open.
    """

    permission_classes = [IsAuthenticatedOrReadOnly]
    hot_view = hot_caches.JOB_DETAIL

    def get_hot_key_id(self, request, **kwargs) -> int:
        return kwargs["job_id"]

    @extend_schema(tags=["jobs"], responses=JobDetailOutputSerializer)
    def get(self, request, job_id: int):
        return super().get(request, job_id=job_id)

    @extend_schema(
        tags=["jobs"],
        summary="Edit a job",
        description=(
            "Change any of the job's fields (its client only, while the job is open: 409 otherwise). "
            "`slots` cannot be fewer than the accepted applications; equal to them, the job is filled. "
            "Once an application is accepted, `pay_rate`, `shift_start`, `shift_end` and `city` are fixed: "
            "changing one is a 409 `terms_locked` (sending the current value is no change)."
        ),
        request=JobInputSerializer,
        responses={200: JobDetailOutputSerializer, 409: ErrorResponse409Serializer},
    )
    def patch(self, request, job_id: int):
        data = JobInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.job_update(job_id=job_id, user=request.user, **data.validated_data)
        return _job_detail_response(job_id)


class _JobActionView(APIView):
    # Takes no request body: one other than `{}` is a 400 (backend/common/request_body.py).
    parser_classes: list = []
    service = None

    def post(self, request, job_id: int):
        self.service(job_id=job_id, user=request.user)
        return _job_detail_response(job_id)


_JOB_ACTION_SCHEMA = {
    "tags": ["jobs"],
    "request": None,
    "responses": {200: JobDetailOutputSerializer, 403: ErrorResponse403Serializer, 409: ErrorResponse409Serializer},
}


@extend_schema_view(post=extend_schema(**_JOB_ACTION_SCHEMA))
class JobCancelView(_JobActionView):
    """Cancel an open or filled job (its client only; 409 in any other status)."""

    service = staticmethod(services.job_cancel)


@extend_schema_view(post=extend_schema(**_JOB_ACTION_SCHEMA))
class JobStartView(_JobActionView):
    """Start the shift of an open or filled job (its client only). It needs at least one accepted application (409),
    and the shift must open: at the earliest 15 minutes before `shift_start` (409 `shift_not_open`)."""

    service = staticmethod(services.job_start)


@extend_schema_view(post=extend_schema(**_JOB_ACTION_SCHEMA))
class JobCompleteView(_JobActionView):
    """Mark a job in progress as completed (its client only; 409 in any other status), once its shift has begun
    (409 `shift_not_begun` before `shift_start`)."""

    service = staticmethod(services.job_complete)


class JobApplicationListView(generics.ListAPIView):
    """A job's applications, oldest first: for the job's client and staff only; filter by `status`.

    Posting applies to the job as the authenticated user: the job must be open (409), a user applies
    once (409 the second time), and a client cannot apply to their own job (403).
    """

    serializer_class = ApplicationOutputSerializer
    filterset_class = ApplicationFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Application.objects.none()
        job_id = self.kwargs["job_id"]
        client_id = selectors.job_client_id_get(job_id=job_id)
        if client_id is None:
            raise NotFound()
        if not (self.request.user.id == client_id or self.request.user.is_staff):
            raise PermissionDenied("Only the job's client can see its applications.")
        return selectors.application_list_for_job(job_id=job_id)

    @extend_schema(
        tags=["applications"], responses={200: ApplicationOutputSerializer(many=True), 403: ErrorResponse403Serializer}
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        tags=["applications"],
        summary="Apply to a job",
        description=(
            "Apply to an open job with an optional cover note. One application per job and user (409 on "
            "a second); the job's own client cannot apply (403); a job that is not open refuses (409)."
        ),
        request=ApplicationCreateInputSerializer,
        responses={201: ApplicationOutputSerializer, 403: ErrorResponse403Serializer, 409: ErrorResponse409Serializer},
    )
    def post(self, request, job_id: int):
        data = ApplicationCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        application = services.application_create(job_id=job_id, applicant=request.user, **data.validated_data)
        return Response(
            ApplicationOutputSerializer(selectors.application_get(application_id=application.id)).data,
            status=status.HTTP_201_CREATED,
        )


class _ApplicationActionView(APIView):
    # Takes no request body: one other than `{}` is a 400 (backend/common/request_body.py).
    parser_classes: list = []
    service = None

    def post(self, request, application_id: int):
        application = self.service(application_id=application_id, user=request.user)
        return Response(ApplicationOutputSerializer(application).data)


_APPLICATION_ACTION_SCHEMA = {
    "tags": ["applications"],
    "request": None,
    "responses": {200: ApplicationOutputSerializer, 403: ErrorResponse403Serializer, 409: ErrorResponse409Serializer},
}


@extend_schema_view(post=extend_schema(**_APPLICATION_ACTION_SCHEMA))
class ApplicationWithdrawView(_ApplicationActionView):
    """Withdraw my pending or accepted application while the job is open or filled (409 otherwise).

    Withdrawing an accepted application from a filled job opens the job again. Only the applicant
    can withdraw (403 for the job's client); anyone else gets 404.
    """

    service = staticmethod(services.application_withdraw)


@extend_schema_view(post=extend_schema(**_APPLICATION_ACTION_SCHEMA))
class ApplicationAcceptView(_ApplicationActionView):
    """Accept a pending application to an open job; when the accepted applications reach the slots, the job is filled.

    Only the job's client can accept (403 for the applicant); anyone else gets 404. A job with no
    slot left, or an application that is not pending, is a 409.
    """

    service = staticmethod(services.application_accept)


@extend_schema_view(post=extend_schema(**_APPLICATION_ACTION_SCHEMA))
class ApplicationRejectView(_ApplicationActionView):
    """Reject a pending application (409 otherwise).

    Only the job's client can reject (403 for the applicant); anyone else gets 404.
    """

    service = staticmethod(services.application_reject)


class _MyListView(generics.ListAPIView):
    """A list of the caller's own rows. The default request (no query parameter) is answered by
    ``build_first_page`` (backend/jobs/hot_caches.py), keyed by the caller's id, with the same bytes
    as the paginated list, so it can become a hot view without changing what clients see."""

    build_first_page = None

    def get(self, request, *args, **kwargs):
        if request.query_params:
            return super().get(request, *args, **kwargs)
        return Response(self.build_first_page(request.user.id))


@extend_schema_view(get=extend_schema(tags=["me"]))
class MyApplicationListView(_MyListView):
    """My applications as a worker, newest first, each with its status and the job it is for.

    Each application shows the job's title, city, shift times, pay rate (per hour) and status, and
    the display name of the client who posted it. Filter by `status`. `upcoming=true` lists my
    upcoming shifts instead: the accepted applications whose shift has not ended yet (a cancelled or
    completed job is left out), the soonest shift first, so a shift under way comes before those
    still to come. Only ever the caller's own applications; a token is required.
    """

    serializer_class = MyApplicationOutputSerializer
    filterset_class = MyApplicationFilter
    build_first_page = staticmethod(hot_caches.build_my_applications)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Application.objects.none()
        return selectors.application_list_for_worker(user_id=self.request.user.id)


@extend_schema_view(get=extend_schema(tags=["me"]))
class MyJobListView(_MyListView):
    """The jobs I posted as a client, in every status, newest first, with their applications counted.

    Each job shows its applications by status (`pending`, `accepted`, `rejected`, `withdrawn`) and in
    total, and `slots_filled`: the slots taken by accepted applications. Filter by `status`. Only ever
    the caller's own jobs; a token is required.
    """

    serializer_class = MyJobOutputSerializer
    filterset_class = MyJobFilter
    build_first_page = staticmethod(hot_caches.build_my_jobs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Job.objects.none()
        return selectors.job_list_for_client(user_id=self.request.user.id)


class LegacyJobDetailView(JobDetailView):
    http_method_names = ["get", "head", "options"]

    @extend_schema(
        tags=["legacy"], deprecated=True, description=LEGACY_DESCRIPTION, responses=JobDetailOutputSerializer
    )
    def get(self, request, job_id: int):
        return super().get(request, job_id)
