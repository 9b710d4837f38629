"""Query-string filters of the job and application lists. An invalid value is a 400 naming the parameter."""

from datetime import UTC

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils import timezone
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from backend.common.converters import MAX_ID
from backend.jobs import selectors
from backend.jobs.models import Application, Job, city_key

CITY_MAX_LENGTH = 80


class InstantField(forms.DateTimeField):
    """An ISO 8601 datetime or date; without an offset it is UTC, a date alone is midnight UTC.

    The instant is passed on in UTC: PostgreSQL refuses offsets beyond 15:59 that Python accepts
    (up to 23:59). An instant that exists only in its own offset (year 1 at +05:00, year 9999 at
    -05:00) cannot be compared with stored UTC times, so it is refused here rather than failing in
    the database.
    """

    def to_python(self, value):
        result = super().to_python(value)
        if result is not None:
            try:
                result = result.astimezone(UTC)
            except OverflowError as exc:
                raise ValidationError(self.error_messages["invalid"], code="invalid") from exc
        return result


@extend_schema_field({"anyOf": [{"type": "string", "format": "date-time"}, {"type": "string", "format": "date"}]})
class InstantFilter(filters.DateTimeFilter):
    field_class = InstantField


class TextField(forms.CharField):
    """Text whose ``max_length`` is that of the value as sent, as the schema documents it (Django's
    field checks it after stripping the ends' whitespace, so padding would pass a longer value)."""

    def clean(self, value):
        if isinstance(value, str) and self.max_length is not None and len(value) > self.max_length:
            raise ValidationError(
                f"Ensure this value has at most {self.max_length} characters (it has {len(value)}).",
                code="max_length",
            )
        return super().clean(value)


class TextFilter(filters.CharFilter):
    field_class = TextField


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": MAX_ID})
class IdFilter(filters.NumberFilter):
    """A whole-number id; anything else (a fraction, a 19-digit number) is invalid."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)

    def get_max_validator(self):
        return None


class StrictBooleanField(forms.Field):
    """``true`` or ``false``; anything else is invalid.

    Written by hand because django-filter's ``BooleanFilter`` (``NullBooleanField``, ``BooleanWidget``)
    reads any other value (``yes``, ``ture``) as "not given" and skips the filter: the unfiltered list
    would answer a misspelt value, which the API refuses everywhere else.
    """

    default_error_messages = {"invalid": "Must be `true` or `false`."}

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if value not in ("true", "false"):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return value == "true"


@extend_schema_field(OpenApiTypes.BOOL)
class StrictBooleanFilter(filters.Filter):
    field_class = StrictBooleanField


class JobFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=Job.Status.choices, help_text="Jobs in this status. Default: `open`.")
    city = TextFilter(
        method="filter_city",
        max_length=CITY_MAX_LENGTH,
        help_text="City, compared case-insensitively (Unicode case folding) with runs of spaces as one.",
    )
    shift_start_after = InstantFilter(
        field_name="shift_start",
        lookup_expr="gte",
        help_text="Shifts starting at or after this ISO 8601 datetime or date (a date is midnight UTC).",
    )
    shift_start_before = InstantFilter(
        field_name="shift_start",
        lookup_expr="lt",
        help_text="Shifts starting strictly before this ISO 8601 datetime or date (a date is midnight UTC).",
    )
    client = IdFilter(field_name="client_id", help_text="Jobs posted by this user id.")
    search = TextFilter(
        method="filter_search",
        max_length=100,
        help_text="Text found in the title or the description, case-insensitive.",
    )

    class Meta:
        model = Job
        fields: list[str] = []

    def filter_queryset(self, queryset: QuerySet[Job]) -> QuerySet[Job]:
        queryset = super().filter_queryset(queryset)
        if not self.form.cleaned_data.get("status"):
            queryset = queryset.filter(status=Job.Status.OPEN)
        return queryset

    def filter_city(self, queryset: QuerySet[Job], name: str, value: str) -> QuerySet[Job]:
        # The city's key (backend.jobs.models.city_key), on the (status, city_key, shift_start) index:
        # the same comparison as the hot feed of ?city= alone (backend/jobs/hot_caches.py).
        return queryset.filter(city_key=city_key(value))

    def filter_search(self, queryset: QuerySet[Job], name: str, value: str) -> QuerySet[Job]:
        return queryset.filter(Q(title__icontains=value) | Q(description__icontains=value))


class ApplicationFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=Application.Status.choices, help_text="Applications in this status.")

    class Meta:
        model = Application
        fields: list[str] = []


class MyApplicationFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=Application.Status.choices, help_text="Applications in this status.")
    upcoming = StrictBooleanFilter(
        method="filter_upcoming",
        help_text=(
            "`true`: only accepted applications whose shift has not ended yet (on jobs neither cancelled nor "
            "completed), the soonest shift first, a shift under way before one still to come (ties: by job id, "
            "then application id). `false`, like leaving it out: every application, newest first."
        ),
    )

    class Meta:
        model = Application
        fields: list[str] = []

    def filter_upcoming(self, queryset: QuerySet[Application], name: str, value: bool) -> QuerySet[Application]:
        return selectors.applications_upcoming(queryset, now=timezone.now()) if value else queryset


class MyJobFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=Job.Status.choices, help_text="Jobs in this status. Default: every status.")

    class Meta:
        model = Job
        fields: list[str] = []
