from drf_spectacular.utils import extend_schema
from drf_standardized_errors.openapi_validation_errors import extend_validation_errors
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.accounts import hot_caches, selectors, services
from backend.accounts.serializers import (
    AccountDetailsOutputSerializer,
    AccountDetailsUpdateInputSerializer,
    ProfileOutputSerializer,
    ProfileUpdateInputSerializer,
    RegisterInputSerializer,
    TokenObtainInputSerializer,
    TokenOutputSerializer,
    UserOutputSerializer,
)
from backend.accounts.services import INVALID_CHARACTERS
from backend.caching.views import HotCachedMixin
from backend.common.access import ensure_owner_or_staff
from backend.common.openapi import LEGACY_DESCRIPTION
from backend.common.throttling import AuthRateThrottle


class _AuthThrottled(APIView):
    # The auth limit only: stricter than the anonymous one, and logout counts per user.
    throttle_classes = [AuthRateThrottle]


# Raised by the service, not by the input serializer, so declared here for the schema.
@extend_validation_errors(["unique"], field_name="email", methods=["post"])
@extend_validation_errors([INVALID_CHARACTERS], field_name="display_name", methods=["post"])
class RegisterView(_AuthThrottled):
    """Create an account. The response carries an API token, so the client is logged in at once."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(tags=["auth"], request=RegisterInputSerializer, responses={201: TokenOutputSerializer})
    def post(self, request):
        data = RegisterInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_register(**data.validated_data)
        token = services.token_obtain(email=user.email, password=data.validated_data["password"])
        return Response(TokenOutputSerializer({"token": token.key, "user": user}).data, status=status.HTTP_201_CREATED)


@extend_validation_errors(["invalid_credentials"], field_name=None, methods=["post"])
class TokenObtainView(_AuthThrottled):
    """Exchange an email and password for the user's API token (the same token until it is revoked)."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(tags=["auth"], request=TokenObtainInputSerializer, responses={200: TokenOutputSerializer})
    def post(self, request):
        data = TokenObtainInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token = services.token_obtain(**data.validated_data)
        return Response(TokenOutputSerializer({"token": token.key, "user": token.user}).data)


class TokenRevokeView(_AuthThrottled):
    """Log out: revoke the caller's token. It stops working immediately, on every device."""

    # Takes no request body: one other than `{}` is a 400 (backend/common/request_body.py).
    parser_classes: list = []

    @extend_schema(tags=["auth"], request=None, responses={204: None})
    def post(self, request):
        services.token_revoke(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WhoAmIView(APIView):
    """The authenticated user."""

    @extend_schema(tags=["auth"], responses=UserOutputSerializer)
    def get(self, request):
        return Response(UserOutputSerializer(request.user).data)


def _profile_response(user_id: int) -> Response:
    profile = selectors.profile_get(user_id=user_id)
    if profile is None:
        raise NotFound()
    return Response(ProfileOutputSerializer(profile).data)


class _ProfileHotView(HotCachedMixin, APIView):
    hot_view = hot_caches.PROFILE


@extend_validation_errors([INVALID_CHARACTERS], field_name="display_name", methods=["patch"])
class MyProfileView(_ProfileHotView):
    """Read or update my public profile."""

    def get_hot_key_id(self, request, **kwargs) -> int:
        return request.user.id

    @extend_schema(tags=["me"], responses=ProfileOutputSerializer)
    def get(self, request):
        return super().get(request)

    @extend_schema(tags=["me"], request=ProfileUpdateInputSerializer, responses=ProfileOutputSerializer)
    def patch(self, request):
        data = ProfileUpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.profile_update(user=request.user, **data.validated_data)
        return _profile_response(request.user.id)


def _account_details_response(user_id: int, *, owner_view: bool) -> Response:
    details = selectors.account_details_get(user_id=user_id)
    if details is None:
        raise NotFound()
    return Response(AccountDetailsOutputSerializer(details, context={"owner_view": owner_view}).data)


class _MyAccountDetailsHotView(HotCachedMixin, APIView):
    hot_view = hot_caches.ACCOUNT_DETAILS

    def get_hot_key_id(self, request, **kwargs) -> int:
        # Keyed by the requesting user: the payload can only ever be its owner's.
        return request.user.id

    def check_hot_access(self, request, key_id: int) -> None:
        # Holds by construction (the key is the requester's own id); stated so that the rule is
        # written where every private hot view writes it (the caching.E003 system check).
        ensure_owner_or_staff(request.user, key_id)


class MyAccountDetailsView(_MyAccountDetailsHotView):
    """Read or update my private account details (payout bank account; balances from succeeded payments)."""

    @extend_schema(tags=["me"], responses=AccountDetailsOutputSerializer)
    def get(self, request):
        return super().get(request)

    @extend_schema(tags=["me"], request=AccountDetailsUpdateInputSerializer, responses=AccountDetailsOutputSerializer)
    def patch(self, request):
        data = AccountDetailsUpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.account_details_update(user=request.user, **data.validated_data)
        return _account_details_response(request.user.id, owner_view=True)


class UserProfileView(_ProfileHotView):
    """A user's public profile with their rating summary. No authentication needed."""

    permission_classes = [AllowAny]
    hot_key_names_requester = False  # the path's user: read with the token's entry

    def get_hot_key_id(self, request, **kwargs) -> int:
        return kwargs["user_id"]

    @extend_schema(tags=["users"], responses=ProfileOutputSerializer)
    def get(self, request, user_id: int):
        return super().get(request, user_id=user_id)


class UserAccountDetailsView(APIView):
    """A user's account details: only that user (account number whole) or staff (masked); 404 for anyone else."""

    @extend_schema(tags=["users"], responses=AccountDetailsOutputSerializer)
    def get(self, request, user_id: int):
        ensure_owner_or_staff(request.user, user_id)
        return _account_details_response(user_id, owner_view=request.user.id == user_id)


class LegacyProfileView(UserProfileView):
    @extend_schema(tags=["legacy"], deprecated=True, description=LEGACY_DESCRIPTION, responses=ProfileOutputSerializer)
    def get(self, request, user_id: int):
        return super().get(request, user_id)


class LegacyAccountDetailsView(_MyAccountDetailsHotView):
    @extend_schema(
        tags=["legacy"], deprecated=True, description=LEGACY_DESCRIPTION, responses=AccountDetailsOutputSerializer
    )
    def get(self, request):
        return super().get(request)
