from django.urls import reverse
from drf_spectacular.utils import extend_schema
from drf_standardized_errors.openapi_serializers import ErrorResponse403Serializer
from rest_framework import generics, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.caching.views import HotCachedMixin
from backend.common.openapi import LEGACY_DESCRIPTION, AutoSchema, ErrorResponse409Serializer
from backend.common.pagination import PageNumberPagination
from backend.ratings import hot_caches, selectors, services
from backend.ratings.models import Review
from backend.ratings.serializers import (
    ReviewCreateInputSerializer,
    ReviewOutputSerializer,
    ReviewSummaryOutputSerializer,
)


class JobReviewCreateView(APIView):
    """Review the other side of my completed job: as its client, an accepted worker; as an accepted worker, the client.

    Only the job's client and its accepted workers can review it (403). The job must be completed
    (409 `job_not_completed`). Workers do not review each other and nobody reviews themselves (400).
    One review per job, reviewer and reviewee (409 `already_reviewed` on a second).
    """

    @extend_schema(
        tags=["reviews"],
        request=ReviewCreateInputSerializer,
        responses={201: ReviewOutputSerializer, 403: ErrorResponse403Serializer, 409: ErrorResponse409Serializer},
    )
    def post(self, request, job_id: int):
        job = selectors.job_for_review(job_id=job_id)
        if job is None:
            raise NotFound()
        data = ReviewCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        review = services.review_create(
            job=job,
            reviewer=request.user,
            reviewee_id=data.validated_data["reviewee"],
            rating=data.validated_data["rating"],
            comment=data.validated_data["comment"],
        )
        return Response(ReviewOutputSerializer(review).data, status=status.HTTP_201_CREATED)


class _ReviewListView(HotCachedMixin, generics.ListAPIView):
    permission_classes = [AllowAny]
    serializer_class = ReviewOutputSerializer
    canonical_url_name = ""

    def get_canonical_path(self) -> str:
        return reverse(self.canonical_url_name, kwargs={"user_id": self.kwargs["user_id"]})

    hot_key_names_requester = False  # the path's user: read with the token's entry

    def get_hot_key_id(self, request, **kwargs) -> int:
        return kwargs["user_id"]


class ReviewsReceivedPagination(PageNumberPagination):
    """The default pagination, with the reviewee's ``average_rating`` between ``previous`` and ``results``."""

    def get_paginated_response_schema(self, schema: dict) -> dict:
        page = super().get_paginated_response_schema(schema)
        properties = dict(page["properties"])
        results = properties.pop("results")
        properties["average_rating"] = {
            "type": "string",
            "format": "decimal",
            "nullable": True,
            "description": "Average of every review the user received (all pages), or null without reviews.",
            "example": "4.50",
        }
        properties["results"] = results
        return {**page, "required": [*page.get("required", []), "average_rating"], "properties": properties}


class ReviewsReceivedSchema(AutoSchema):
    # The page has a field the reviews-given page lacks, so it needs a component of its own.
    def get_paginated_name(self, serializer_name: str) -> str:
        return "PaginatedReviewsReceivedList"


class UserReviewsReceivedView(_ReviewListView):
    """Reviews a user received, newest first, with their average rating over all of them. No authentication needed."""

    pagination_class = ReviewsReceivedPagination
    schema = ReviewsReceivedSchema()
    canonical_url_name = "user-reviews-received"
    hot_view = hot_caches.REVIEWS_RECEIVED

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Review.objects.none()
        return selectors.review_list_received(user_id=self.kwargs["user_id"])

    @extend_schema(tags=["reviews"])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_uncached(self, request, key_id: int, *args, **kwargs):
        # One query answers both "is there such a user?" and "what is their average?".
        self.summary = selectors.review_summary_for_user(user_id=key_id)
        if self.summary is None:
            raise NotFound()
        return self.list(request, *args, **kwargs)

    def get_paginated_response(self, data):
        page = super().get_paginated_response(data).data
        return Response(
            {
                "count": page["count"],
                "next": page["next"],
                "previous": page["previous"],
                **ReviewSummaryOutputSerializer(self.summary).data,
                "results": page["results"],
            }
        )


class UserReviewsGivenView(_ReviewListView):
    """Reviews a user wrote, newest first. No authentication needed."""

    canonical_url_name = "user-reviews-given"
    hot_view = hot_caches.REVIEWS_GIVEN

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Review.objects.none()
        return selectors.review_list_given(user_id=self.kwargs["user_id"])

    @extend_schema(tags=["reviews"])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_uncached(self, request, key_id: int, *args, **kwargs):
        if not selectors.reviewer_exists(user_id=key_id):
            raise NotFound()
        return self.list(request, *args, **kwargs)


class LegacyUserReviewsReceivedView(UserReviewsReceivedView):
    @extend_schema(tags=["legacy"], deprecated=True, description=LEGACY_DESCRIPTION)
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class LegacyUserReviewsGivenView(UserReviewsGivenView):
    @extend_schema(tags=["legacy"], deprecated=True, description=LEGACY_DESCRIPTION)
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
