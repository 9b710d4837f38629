from drf_spectacular.utils import extend_schema, extend_schema_view
from drf_standardized_errors.openapi_serializers import ErrorResponse403Serializer
from drf_standardized_errors.openapi_validation_errors import extend_validation_errors
from rest_framework import generics, status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.permissions import IsAuthenticatedOrReadOnly
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.caching.views import HotCachedMixin
from backend.common.access import ensure_owner_or_staff
from backend.common.openapi import LEGACY_DESCRIPTION, ErrorResponse409Serializer
from backend.jobs import hot_caches, selectors, services
from backend.jobs.filters import CITY_MAX_LENGTH, ApplicationFilter, JobFilter, MyApplicationFilter, MyJobFilter
from backend.jobs.models import FEED_ALL, Application, Job, city_key
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


# The first page of a city with no open job: what the list renders, and what the hot feed's "not found" means.
_EMPTY_PAGE = {"count": 0, "next": None, "previous": None, "results": []}


@_schedule_errors(method="post")
class JobListView(HotCachedMixin, generics.ListAPIView):
    """Open jobs, soonest shift first; filter by status, city, shift start, client, or search text.

    Without `status` only open jobs are listed. No authentication needed to read; posting a job
    needs a token, and the poster is the job's client.
    """

    permission_classes = [IsAuthenticatedOrReadOnly]
    serializer_class = JobListOutputSerializer
    filterset_class = JobFilter
    hot_view = hot_caches.OPEN_JOBS

    def get_queryset(self):
        return selectors.job_list()

    def is_hot_request(self, request) -> bool:
        """No query parameter (every city), or ``city`` alone, once, as the filter would accept it: at most
        80 characters, not blank, no NUL (anything else takes the filter's path and its 400)."""
        params = request.query_params
        if not params:
            return True
        if list(params) != ["city"]:
            return False
        values = params.getlist("city")
        return (
            len(values) == 1
            and 0 < len(values[0]) <= CITY_MAX_LENGTH
            and "\x00" not in values[0]
            and bool(values[0].strip())
        )

    hot_key_names_requester = False  # the query's city: read with the token's entry

    def get_hot_key_id(self, request, **kwargs) -> int:
        city = request.query_params.get("city")
        return FEED_ALL if city is None else city_key(city)

    def get_uncached(self, request, key_id: int, *args, **kwargs):
        if self.is_hot_request(request):  # hot caches off, or the browsable API: the builder, as cached
            return Response(self.hot_view.build(key_id) or _EMPTY_PAGE)
        return self.list(request, *args, **kwargs)

    @extend_schema(tags=["jobs"])
    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        if response.status_code == 404 and hasattr(response, "hot_cache_outcome"):
            # A city with no open job is kept as "not found" (a bounded lifetime): it is the empty page.
            outcome, response = response.hot_cache_outcome, Response(_EMPTY_PAGE)
            response.hot_cache_outcome = outcome
        return response

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

    hot_key_names_requester = False  # the path's job: read with the token's entry

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


class _MyListView(HotCachedMixin, generics.ListAPIView):
    """A list of the caller's own rows. The default request (no query parameter) is a hot view keyed
    by the caller's id (backend/jobs/hot_caches.py), the same bytes as the paginated list's page 1."""

    def get_hot_key_id(self, request, **kwargs) -> int:
        return request.user.id

    def check_hot_access(self, request, key_id: int) -> None:
        # Holds by construction (the key is the requester's own id); written where every private hot
        # view writes it (the caching.E003 system check).
        ensure_owner_or_staff(request.user, key_id)

    def get_uncached(self, request, key_id: int, *args, **kwargs):
        return self.list(request, *args, **kwargs)


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
    hot_view = hot_caches.MY_APPLICATIONS

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
    hot_view = hot_caches.MY_JOBS

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
