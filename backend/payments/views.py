from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from drf_standardized_errors.openapi_serializers import ErrorResponse403Serializer
from drf_standardized_errors.openapi_validation_errors import extend_validation_errors
from rest_framework import generics, status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.caching.views import HotCachedMixin
from backend.common.access import ensure_owner_or_staff
from backend.common.openapi import LEGACY_DESCRIPTION, ErrorResponse409Serializer
from backend.payments import hot_caches, selectors, services
from backend.payments.filters import PaymentFilter
from backend.payments.models import Payment
from backend.payments.serializers import (
    IDEMPOTENCY_KEY_HEADER,
    PaymentCreateInputSerializer,
    PaymentListItemSerializer,
    PaymentOutputSerializer,
    idempotency_key_from,
)


class UserPaymentListView(HotCachedMixin, generics.ListAPIView):
    """A user's payments, paid and received, newest first; filter by `status`.

    Only that user and staff can read them; for anyone else the user's payments do not exist (404).
    `direction` is `paid` when the user is the payer and `received` when they are the payee.
    """

    serializer_class = PaymentListItemSerializer
    filterset_class = PaymentFilter
    hot_view = hot_caches.PAYMENTS

    def get_hot_key_id(self, request, **kwargs) -> int:
        return kwargs["user_id"]

    def check_hot_access(self, request, key_id: int) -> None:
        # Before any cache read: a private payload is only ever served to its owner or staff.
        ensure_owner_or_staff(request.user, key_id)

    def get_uncached(self, request, key_id: int, *args, **kwargs):
        # The user's own token proves they exist; staff may ask about anyone.
        if request.user.id != key_id and not selectors.user_exists(user_id=key_id):
            raise NotFound()
        return self.list(request, *args, **kwargs)

    def get_canonical_path(self) -> str:
        return reverse("user-payments", kwargs={"user_id": self.kwargs["user_id"]})

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Payment.objects.none()
        return selectors.payment_list_for_user(user_id=self.kwargs["user_id"])

    @extend_schema(tags=["payments"])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


# The header's own errors (idempotency_key_from) carry the header's name as their `attr`.
@extend_validation_errors(["required", "max_length", "invalid"], field_name=IDEMPOTENCY_KEY_HEADER, methods=["post"])
class JobPaymentCreateView(APIView):
    """Pay an accepted worker of my completed job. The payment starts `pending`.

    Only the job's client can pay (403 for anyone else). Send a unique `Idempotency-Key` header with
    each new payment and the same key when retrying it: the retry answers 200 with the payment the
    first request created, and never creates a second one. Reusing a key for a different job, payee,
    amount or currency is a 409 (`idempotency_key_reused`). The job must be completed (409
    `job_not_completed`) and the payee one of its accepted workers (400). For one job and one payee, pending and
    succeeded payments together stay within the job's ceiling, pay rate x shift hours + 25% for tips and overtime
    (409 `payment_ceiling_exceeded`, whose detail says how much is left). `currency` is one of the supported codes,
    and the currency of the job's earlier pending and succeeded payments if it has any (409 `currency_mismatch`).
    """

    @extend_schema(
        tags=["payments"],
        parameters=[
            OpenApiParameter(
                IDEMPOTENCY_KEY_HEADER,
                {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
                OpenApiParameter.HEADER,
                required=True,
                description=(
                    "1 to 255 visible ASCII characters, unique per payment you mean to make (a UUID, say). "
                    "Keys are scoped to the payer."
                ),
            )
        ],
        request=PaymentCreateInputSerializer,
        responses={
            201: OpenApiResponse(PaymentOutputSerializer, description="The payment was created."),
            200: OpenApiResponse(
                PaymentOutputSerializer, description="A retry: the payment created earlier with this key."
            ),
            403: ErrorResponse403Serializer,
            409: ErrorResponse409Serializer,
        },
    )
    def post(self, request, job_id: int):
        job = selectors.job_for_payment(job_id=job_id)
        if job is None:
            raise NotFound()
        if job.client_id != request.user.id:
            raise PermissionDenied("Only the job's client can pay for it.")
        idempotency_key = idempotency_key_from(request.headers)
        data = PaymentCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        payment, created = services.payment_create(
            job=job,
            payer=request.user,
            payee_id=data.validated_data["payee"],
            amount=data.validated_data["amount"],
            currency=data.validated_data.get("currency"),
            idempotency_key=idempotency_key,
        )
        return Response(
            PaymentOutputSerializer(payment).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


class PaymentDetailView(APIView):
    """A payment: for its payer, its payee and staff; for anyone else it does not exist (404)."""

    @extend_schema(tags=["payments"], responses=PaymentOutputSerializer)
    def get(self, request, payment_id: int):
        payment = selectors.payment_get(payment_id=payment_id)
        if payment is None or not (request.user.is_staff or request.user.id in (payment.payer_id, payment.payee_id)):
            raise NotFound()
        return Response(PaymentOutputSerializer(payment).data)


class _PaymentTransitionView(APIView):
    # Takes no request body: one other than `{}` is a 400 (backend/common/request_body.py).
    parser_classes: list = []
    permission_classes = [IsAdminUser]
    service = None

    def post(self, request, payment_id: int):
        payment = self.service(payment_id=payment_id)
        return Response(PaymentOutputSerializer(payment).data)


_TRANSITION_SCHEMA = {
    "tags": ["payments"],
    "request": None,
    "responses": {200: PaymentOutputSerializer, 409: ErrorResponse409Serializer},
}


@extend_schema_view(post=extend_schema(**_TRANSITION_SCHEMA))
class PaymentSucceedView(_PaymentTransitionView):
    """Mark a pending payment succeeded: from then on it counts in the payer's and the payee's balances.

    Staff only: called by staff, or by the internal payment-provider integration through a staff
    service account. A payment that is not pending is a 409 (`invalid_status_transition`).
    """

    service = staticmethod(services.payment_mark_succeeded)


@extend_schema_view(post=extend_schema(**_TRANSITION_SCHEMA))
class PaymentFailView(_PaymentTransitionView):
    """Mark a pending payment failed (the provider declined it). A failed payment never counts in balances.

    Staff only: called by staff, or by the internal payment-provider integration through a staff
    service account. A payment that is not pending is a 409 (`invalid_status_transition`).
    """

    service = staticmethod(services.payment_mark_failed)


@extend_schema_view(post=extend_schema(**_TRANSITION_SCHEMA))
class PaymentRefundView(_PaymentTransitionView):
    """Refund a succeeded payment: it stops counting in the payer's and the payee's balances.

    Staff only: called by staff, or by the internal payment-provider integration through a staff
    service account. A payment that has not succeeded (or is already refunded) is a 409
    (`invalid_status_transition`).
    """

    service = staticmethod(services.payment_refund)


class LegacyUserPaymentListView(UserPaymentListView):
    @extend_schema(tags=["legacy"], deprecated=True, description=LEGACY_DESCRIPTION)
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
