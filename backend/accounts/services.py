"""Writes to users, tokens, profiles and account details."""

from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import ValidationError

from backend.accounts.models import AccountDetails, Profile, User
from backend.common.validation import validate_field_values

PROFILE_FIELDS = ("display_name", "headline", "bio", "skills", "city", "hourly_rate", "avatar_url")
ACCOUNT_DETAILS_FIELDS = ("bank_name", "account_holder", "account_number", "currency")


@transaction.atomic
def user_register(*, email: str, password: str, display_name: str = "") -> User:
    """Create a user with their profile and account details; the email must be new."""
    email = User.objects.normalize_email(email).lower()
    try:
        validate_password(password, user=User(email=email))
    except DjangoValidationError as exc:
        raise ValidationError({"password": list(exc.messages)}) from exc
    if User.objects.filter(email=email).exists():
        raise ValidationError({"email": ["A user with this email already exists."]}, code="unique")
    try:
        with transaction.atomic():
            user = User.objects.create_user(email=email, password=password)
    except IntegrityError as exc:  # a concurrent registration won the race
        raise ValidationError({"email": ["A user with this email already exists."]}, code="unique") from exc
    if display_name:
        Profile.objects.filter(user=user).update(display_name=display_name)
    return user


def token_obtain(*, email: str, password: str) -> Token:
    """The user's API token (created on first use) for valid credentials."""
    user = authenticate(username=User.objects.normalize_email(email).lower(), password=password)
    if user is None:
        raise ValidationError("Unable to log in with the provided credentials.", code="invalid_credentials")
    token, _ = Token.objects.get_or_create(user=user)
    return token


def token_revoke(*, user: User) -> None:
    """Delete the user's token: it stops working at once, on every device that held it."""
    Token.objects.filter(user=user).delete()


@transaction.atomic
def profile_update(*, user: User, **fields) -> Profile:
    profile = Profile.objects.select_for_update().get(user=user)
    for name, value in fields.items():
        if name not in PROFILE_FIELDS:
            raise ValueError(f"Not a profile field: {name}")
        setattr(profile, name, value)
    validate_field_values(profile)
    profile.save()
    return profile


@transaction.atomic
def account_details_update(*, user: User, **fields) -> AccountDetails:
    details = AccountDetails.objects.select_for_update().get(user=user)
    for name, value in fields.items():
        if name not in ACCOUNT_DETAILS_FIELDS:
            raise ValueError(f"Not an account details field: {name}")
        setattr(details, name, value)
    validate_field_values(details)
    details.save()
    return details
