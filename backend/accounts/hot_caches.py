"""Hot views of the accounts app: public profiles and private account details; and the token lookup.

``TOKENS`` (``auth:token``) is what ``backend.accounts.authentication.HotTokenAuthentication`` reads
to resolve a token to its user without SQL. Its key id is ``token_key_id(key)``, a digest of the
token: the raw token never reaches Redis, and no worker can rebuild an entry (it is a ``HotLookup``,
built by the request that misses).
"""

import hashlib

from rest_framework.authtoken.models import Token

from backend.accounts import selectors
from backend.accounts.serializers import AccountDetailsOutputSerializer, ProfileOutputSerializer
from backend.caching.registry import Dependency, HotLookup, HotView, register


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


def token_key_id(key: object) -> int:
    """The ``auth:token`` key id of a token's key: the first 63 bits of its BLAKE2b digest, 1 to 2^63 - 1.

    One-way (the key holds 160 random bits), so Redis holds no credential. Two tokens share a key id
    with probability 2^-63 per pair; the entry also carries ``token_digest(key)``, checked on every
    read, so a collision is a miss, never another user.
    """
    digest = hashlib.blake2b(str(key).encode(), digest_size=8, person=b"auth:token:id").digest()
    return int.from_bytes(digest, "big") >> 1 or 1


def token_digest(key: str) -> str:
    """64 hex digits (BLAKE2b, 256 bits) of a token's key: what an entry is checked against on a hit."""
    return hashlib.blake2b(key.encode(), digest_size=32, person=b"auth:token").hexdigest()


def _users_token(user) -> list:
    return [(Token.objects.filter(user_id=user.pk), "key")]


# The user fields an entry holds (the rest are deferred: reading one runs a query, and ``save()``
# writes only the loaded fields). What the API reads off ``request.user``: id, is_staff (access
# checks, IsAdminUser), email and date_joined (``/me/``), is_active and is_superuser (Django's user API).
TOKEN_USER_FIELDS = ("id", "email", "is_active", "is_staff", "is_superuser", "date_joined")

TOKENS = register(
    HotLookup(
        namespace="auth:token",
        description="A token's user, as token authentication needs it (no raw token stored).",
        ttl=3600,
        depends_on=(
            Dependency("authtoken.Token", id_fields=("pk",)),
            # The user's token when a field the entry holds changes, or the password does (an
            # invalidation, not a revocation: the next request reads the database again).
            Dependency(
                "accounts.User",
                fan_out=_users_token,
                fan_out_when_changed=(*TOKEN_USER_FIELDS[1:], "password"),
            ),
        ),
        id_of=token_key_id,
    )
)
