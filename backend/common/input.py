"""Request bodies read as the schema documents them (issue 11, kind 10: the schema is the contract).

DRF's fields coerce: a ``CharField`` takes ``0`` and stores ``"0"``, an ``IntegerField`` takes
``"7"`` and ``7.0``, a ``DecimalField`` takes ``12.5`` as well as ``"12.50"``, and also ``" 5"``,
``"+5"``, ``"1e2"`` and ``"-0"``. The schema documents a string, an integer, and a decimal as a
string of a stated pattern (``decimal_pattern``), so a client sending anything else is outside the
contract, and a client generated from the schema in another language would not expect it to work.

Every serializer that reads a request body derives from ``InputSerializer``, which refuses, before
DRF coerces anything, a value of another JSON type than its field's and a decimal string outside
its documented pattern, with a 400 in the API's error shape::

    {"type": "validation_error",
     "errors": [{"code": "invalid", "detail": "Not a valid string.", "attr": "account_holder"}]}

Query parameters are strings by nature and are read by django-filter and the paginator, not here.
"""

import re
from collections.abc import Mapping

from django.core.validators import RegexValidator
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail, ValidationError
from rest_framework.settings import api_settings

from backend.common.serializers import InputSerializer as UnknownFieldRefusingSerializer

INVALID = "invalid"

# (the Python types ``json.loads`` gives for the documented JSON type, what to tell the client), per
# field class in the order checked.
_STRING = ((str,), "Not a valid string.")
_JSON_TYPES: tuple[tuple[type[serializers.Field], tuple[tuple[type, ...], str]], ...] = (
    (serializers.BooleanField, ((bool,), "Must be a boolean (true or false).")),
    (serializers.IntegerField, ((int,), "A valid integer is required.")),
    (serializers.FloatField, ((int, float), "A valid number is required.")),
    (serializers.CharField, _STRING),
    (serializers.DateTimeField, _STRING),
    (serializers.DateField, _STRING),
    (serializers.TimeField, _STRING),
    (serializers.DurationField, _STRING),
)


# What a plain text field accepts, as the schema documents it (``text_pattern``): DRF's CharField refuses
# NUL (PostgreSQL cannot store it) and, unless blank is allowed, a value that is only whitespace (it
# trims it to ""). Whitespace is spelt out as ``str.strip`` knows it (``WHITESPACE``): ``\s`` differs
# between regex engines (Python's includes \x1c-\x1f, ECMA's and Rust's do not). DRF also refuses lone surrogates,
# which no pattern can name portably (ECMA and Rust regexes refuse ``\ud800`` in a class) and no JSON
# text a conforming client sends contains.
_TEXT_CHAR = r"[^\u0000]"
WHITESPACE = r"\t\n\u000b\u000c\r\u001c-\u001f \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# One character at least: drf-spectacular documents a field that may be blank as ``oneOf`` this and
# ``maxLength: 0``, and "" must match only one of them.
TEXT_PATTERN = rf"^{_TEXT_CHAR}+$"
NON_BLANK_TEXT_PATTERN = rf"^{_TEXT_CHAR}*[^{WHITESPACE}\u0000]{_TEXT_CHAR}*$"
# A text query parameter (django-filter's CharFilter, a Django form field): no NUL; empty is no filter.
QUERY_TEXT_PATTERN = rf"^{_TEXT_CHAR}*$"

# Top-level names that never reach a public host: special-use and private-use names (RFC 6761 localhost,
# test, invalid, example; RFC 6762 local; RFC 7686 onion; RFC 9476 alt; arpa, which holds home.arpa
# (RFC 8375) and the reverse-lookup names; ICANN's .internal (2024); and the names private networks
# commonly use: localdomain, lan, home, corp, intranet, private). IP addresses (loopback, private,
# link-local, reserved alike) never match the host part below, whose last label is letters only.
NON_PUBLIC_TLDS = (
    "alt", "arpa", "corp", "example", "home", "internal", "intranet", "invalid", "lan", "local",
    "localdomain", "localhost", "onion", "private", "test",
)  # fmt: skip


def _any_case(word: str) -> str:
    # Spelt letter by letter: an inline (?i) flag is not understood by every schema tool's regex engine.
    return "".join(f"[{char.lower()}{char.upper()}]" for char in word)


# An https URL to a public host name, as ``avatar_url`` accepts it (issue 12: an avatar is fetched by
# other users' browsers and apps, so never over plain http, and never from a name that only means
# something inside a network): the schema's pattern and the serializer's and the service's rule.
# Within what Django's URLValidator (the model's) accepts, host length (253) included, so the two never
# disagree; no user info, IP address or non-ASCII host (send the xn-- form). Checked as text only: no DNS
# lookup at request time (it would be slow, could be steered by whoever runs the name's DNS, and could
# change by the time the URL is fetched), so a public name that resolves to a private address is not
# caught here; whatever fetches avatars server-side must check the address it connects to.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_NON_PUBLIC_TLD = "|".join(_any_case(name) for name in NON_PUBLIC_TLDS)
# A TCP port, 1 to 65535 (RFC 6335): ":0" and ":99999" are not ports.
_PORT = r"(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3})"
HTTPS_PUBLIC_URL_PATTERN = (
    rf"^https://(?=[^/?#:]{{1,253}}(?:[/?#:]|$))(?:{_LABEL}\.)+"
    rf"(?!(?:{_NON_PUBLIC_TLD})(?:[/?#:]|$))[A-Za-z]{{2,63}}(?::{_PORT})?"
    r"(?:[/?#][A-Za-z0-9._~:/?#\[\]@!$&'()*+,;=%-]*)?$"
)


def text_pattern(field: serializers.CharField) -> str | None:
    """The pattern the schema documents for a plain text field (one with no pattern or format of its
    own: those exclude what DRF refuses already); None for the others."""
    if isinstance(field, serializers.EmailField | serializers.URLField) or any(
        isinstance(validator, RegexValidator) for validator in field.validators
    ):
        return None
    return TEXT_PATTERN if field.allow_blank else NON_BLANK_TEXT_PATTERN


# An ASCII digit. Not ``\d``: in a Python pattern it matches every Unicode decimal digit (Arabic-Indic,
# fullwidth...), which ``Decimal`` then reads as digits, while ECMA's ``\d`` (a client's) is ASCII only
# (issue 12: money is ASCII digits).
_DIGIT = "[0-9]"


def decimal_pattern(field: serializers.DecimalField) -> str:
    """The strings a DecimalField sent as a string accepts: the pattern the schema documents
    (backend.common.openapi) and the one ``InputSerializer`` holds a value to.

    Digits with an optional fraction, or a fraction alone, within ``max_digits`` and
    ``decimal_places``; no sign, and not zero, when ``min_value`` is positive (amounts, rates: "more
    than 0"); no sign when it is 0 (``"-0"`` is no amount either); "" too when the field is nullable
    (DRF reads it as null). A positive ``min_value`` is taken to be the smallest step (0.01 for two
    places); DRF still checks it. Digits are ASCII (``[0-9]``: ``\\d`` is any script's digit in Python
    and Rust, as ``Decimal`` reads them, but ASCII only in ECMA). drf-spectacular's own pattern,
    ``^-?\\d{0,N}(?:\\.\\d{0,M})?$``, matches "", "-" and ".", none of them a number, and says nothing
    of a minimum.
    """
    fraction = field.decimal_places
    whole = field.max_digits - fraction
    if field.min_value is not None and field.min_value > 0:
        # A fraction alone has a non-zero digit: the first one at each of its places, as alternatives
        # (a lookahead would say it shorter, but schema-driven generators do not all handle one).
        nonzero = "|".join("0" * zeros + rf"[1-9]{_DIGIT}{{0,{fraction - 1 - zeros}}}" for zeros in range(fraction))
        number = rf"[1-9]{_DIGIT}{{0,{whole - 1}}}(?:\.{_DIGIT}{{0,{fraction}}})?|0?\.(?:{nonzero})"
    else:
        sign = "" if field.min_value is not None and field.min_value >= 0 else "-?"
        number = rf"{sign}(?:{_DIGIT}{{1,{whole}}}(?:\.{_DIGIT}{{0,{fraction}}})?|\.{_DIGIT}{{1,{fraction}}})"
    pattern = f"^(?:{number})$"
    return f"^$|{pattern}" if field.allow_null else pattern


def _decimal_errors(field: serializers.DecimalField, value) -> list | None:
    if not getattr(field, "coerce_to_string", api_settings.COERCE_DECIMAL_TO_STRING):
        # Documented as a JSON number (drf-spectacular follows the same setting).
        return (
            None
            if isinstance(value, int | float) and not isinstance(value, bool)
            else _invalid("A valid number is required.")
        )
    if not isinstance(value, str):
        return _invalid('Send the number as a string, e.g. "12.50".')
    if re.fullmatch(decimal_pattern(field), value):
        return None
    whole = field.max_digits - field.decimal_places
    if field.min_value is not None and field.min_value >= 0:
        kind = "a number more than 0" if field.min_value > 0 else "a number of at least 0"
        sign = "no sign"
    else:
        kind, sign = "a number", "an optional minus sign"
    return _invalid(
        f"Enter {kind}: digits with {sign}, at most {whole} before the point and {field.decimal_places} "
        "after it (no spaces or exponent)."
    )


def _text_errors(field: serializers.CharField, value: str) -> list | None:
    """DRF trims a string before it checks its length and pattern; the schema's ``maxLength`` and
    ``pattern`` are those of the string as sent (``" USD"`` is no currency code)."""
    if field.max_length is not None and len(value) > field.max_length:
        return [ErrorDetail(field.error_messages["max_length"].format(max_length=field.max_length), code="max_length")]
    if value == "" and field.allow_blank:
        return None
    for validator in field.validators:
        if isinstance(validator, RegexValidator) and not validator.regex.search(value):
            return _invalid(str(field.error_messages["invalid"]))
    return None


def _invalid(message: str) -> list:
    return [ErrorDetail(message, code=INVALID)]


def type_errors(field: serializers.Field, value) -> list | dict | None:
    """The errors of ``value`` sent for ``field``, in DRF's shape (a list of messages, or a dict
    by list index for a list's items); None when it has the documented JSON type (and, for a
    decimal, the documented pattern). ``null`` is left to the field (``allow_null``)."""
    if value is None:
        return None
    if isinstance(field, serializers.ListField):
        if not isinstance(value, list):
            return None  # the field's own "not_a_list"
        items = {index: errors for index, item in enumerate(value) if (errors := type_errors(field.child, item))}
        return items or None
    if isinstance(field, serializers.DecimalField):
        return _decimal_errors(field, value)
    if isinstance(field, serializers.CharField) and isinstance(value, str):
        return _text_errors(field, value)
    for field_class, (types, message) in _JSON_TYPES:
        if isinstance(field, field_class):
            # bool is an int to Python, never a number in JSON.
            if isinstance(value, types) and (bool in types or not isinstance(value, bool)):
                return None
            return _invalid(message)
    return None  # a field that checks its own input (a nested serializer, a choice of any type)


# Base of the serializers that read a JSON request body: a value of another JSON type than its field's
# documented one is a 400 (``code`` ``invalid``, ``attr`` the field, or ``field.index`` inside a list),
# for every field sent, before any other validation but the refusal of undeclared keys (the parent,
# ``backend.common.serializers.InputSerializer``: ``unknown_field``). A comment, not a docstring:
# drf-spectacular would publish a docstring as the description of every request body that has none of
# its own.
class InputSerializer(UnknownFieldRefusingSerializer):
    def to_internal_value(self, data):
        if isinstance(data, Mapping) and not set(data) - set(self.fields):
            errors = {
                name: errors
                for name, field in self.fields.items()
                if not field.read_only and name in data and (errors := type_errors(field, data[name]))
            }
            if errors:
                raise ValidationError(errors)
        return super().to_internal_value(data)
