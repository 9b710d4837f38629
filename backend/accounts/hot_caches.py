"""Hot views of the accounts app: public profiles and private account details."""

from backend.accounts import selectors
from backend.accounts.serializers import AccountDetailsOutputSerializer, ProfileOutputSerializer
from backend.caching.registry import Dependency, HotView, register


def build_profile(user_id: int) -> dict | None:
    profile = selectors.profile_get(user_id=user_id)
    return None if profile is None else ProfileOutputSerializer(profile).data


def build_account_details(user_id: int) -> dict | None:
    details = selectors.account_details_get(user_id=user_id)
    if details is None:
        return None
    return AccountDetailsOutputSerializer(details, context={"owner_view": True}).data


PROFILE = register(
    HotView(
        namespace="profile:user",
        description="A user's public profile with their rating summary.",
        build=build_profile,
        ttl=3600,
        depends_on=(
            Dependency("accounts.User", id_fields=("pk",)),
            Dependency("accounts.Profile", id_fields=("user",)),
            Dependency("ratings.Review", id_fields=("reviewee",)),
        ),
        all_ids=selectors.active_user_ids,
    )
)

ACCOUNT_DETAILS = register(
    HotView(
        namespace="account_details:user",
        description="A user's private account details with balances, as their owner sees them.",
        build=build_account_details,
        ttl=3600,
        depends_on=(
            Dependency("accounts.AccountDetails", id_fields=("user",)),
            Dependency("payments.Payment", id_fields=("payer", "payee")),
        ),
        all_ids=selectors.active_user_ids,
        private=True,
    )
)
