"""Writes to users, tokens, profiles and account details.

Profile content rules (issue 12): a display name is stored in Unicode NFKC form and refuses invisible
and control characters (``display_name_normalize``), an avatar is an https URL to a public host name
(``backend.common.input.HTTPS_PUBLIC_URL_PATTERN``); each refusal is a 400 on the field.
"""

import re
import unicodedata

import regex
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import ValidationError

from backend.accounts.models import AccountDetails, Profile, User
from backend.caching import invalidation
from backend.common.input import HTTPS_PUBLIC_URL_PATTERN
from backend.common.validation import validate_field_values

PROFILE_FIELDS = ("display_name", "headline", "bio", "skills", "city", "hourly_rate", "avatar_url")
ACCOUNT_DETAILS_FIELDS = ("bank_name", "account_holder", "account_number", "currency")

# Unicode general categories a display name refuses: control (Cc: NUL, tab, newline, C1 controls),
# format (Cf: zero-width space and joiners, bidi overrides, soft hyphen, byte-order mark, tag
# characters), surrogate (Cs), private use (Co), and line and paragraph separators (Zl, Zp). They are
# invisible or render differently per device, so "Ada" and "Ada<U+200B>" would look the same: one user
# could pass for another. NFKC folds the look-alike compatibility forms (fullwidth "Ada", the "fi"
# ligature) into their plain characters first, so what is stored is what is compared.
DISPLAY_NAME_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Zl", "Zp"})
# Also every Default_Ignorable_Code_Point (Unicode's DerivedCoreProperties, UAX #44: variation
# selectors, the combining grapheme joiner, Hangul fillers... render as nothing whatever their
# category) and the Braille pattern blank, which renders as a space but is a symbol (So). The standard
# library's unicodedata has no Default_Ignorable property; the regex package (mrab) knows it.
_REFUSED_IN_DISPLAY_NAMES = regex.compile(
    "["
    + "".join(rf"\p{{{category}}}" for category in sorted(DISPLAY_NAME_REFUSED_CATEGORIES))
    + r"\p{Default_Ignorable_Code_Point}\u2800]"
)
INVALID_CHARACTERS = "invalid_characters"
_AVATAR_URL = re.compile(HTTPS_PUBLIC_URL_PATTERN)


def display_name_normalize(value: str) -> str:
    """``value`` in NFKC form, or a 400 (``invalid_characters`` on ``display_name``) if it holds a
    character of ``DISPLAY_NAME_REFUSED_CATEGORIES`` or a default-ignorable one. Length (80) is the
    model's, checked on the normalised form (NFKC can lengthen a string)."""
    normalized = unicodedata.normalize("NFKC", value)
    refused = sorted({f"U+{ord(char):04X}" for char in _REFUSED_IN_DISPLAY_NAMES.findall(normalized)})
    if refused:
        raise ValidationError(
            {"display_name": [f"Remove the invisible or control characters: {', '.join(refused)}."]},
            code=INVALID_CHARACTERS,
        )
    return normalized


def _check_avatar_url(value: str) -> None:
    if value and not _AVATAR_URL.search(value):
        raise ValidationError({"avatar_url": ["Enter an https URL to a public host name."]}, code="invalid")


@transaction.atomic
def user_register(*, email: str, password: str, display_name: str = "") -> User:
    """Create a user with their profile and account details; the email must be new."""
    email = User.objects.normalize_email(email).lower()
    if display_name:
        display_name = display_name_normalize(display_name)
        validate_field_values(Profile(display_name=display_name))
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
        profile = user.profile  # cached by create_user: no query
        profile.display_name = display_name
        Profile.objects.filter(pk=profile.pk).update(display_name=display_name)
        # QuerySet.update() sends no post_save, so the hot-cache hook is called here. The profile was
        # created in this transaction: nobody else's payload shows its name yet, hence no fan-out.
        invalidation.invalidate(invalidation.affected_keys(profile, created=True))
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
        if name == "display_name":
            value = display_name_normalize(value)
        elif name == "avatar_url":
            _check_avatar_url(value)
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
