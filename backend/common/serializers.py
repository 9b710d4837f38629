"""Input and output shapes shared by several apps."""

from collections.abc import Mapping

from rest_framework import serializers
from rest_framework.settings import api_settings

UNKNOWN_FIELD = "unknown_field"

# Ids are 64-bit primary keys: a bigger number is refused as input, never sent to the database.
MAX_ID = 2**63 - 1


class JobSummarySerializer(serializers.Serializer):
    """The job a payment or review belongs to."""

    id = serializers.IntegerField()
    title = serializers.CharField()


class UserSummarySerializer(serializers.Serializer):
    """A party to a payment or review: their id and public display name (the user's profile must be joined)."""

    id = serializers.IntegerField()
    display_name = serializers.CharField(source="profile.display_name")


class InputSerializer(serializers.Serializer):
    """The base of every request-body serializer: a key it does not declare is a 400.

    DRF ignores undeclared keys, so a misspelt field (``{"boi": ...}``) or a body wrapped in an
    envelope (``{"profile": {"bio": ...}}``) would answer 200 and change nothing: acknowledged and
    dropped. Each undeclared key is one error, ``code`` ``unknown_field``, ``attr``
    ``non_field_errors`` (the schema cannot list every key a client might send; the detail names
    it), documented on every operation that reads a body (``backend.common.openapi.AutoSchema``).
    """

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            unknown = sorted(str(key) for key in set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {
                        api_settings.NON_FIELD_ERRORS_KEY: [
                            serializers.ErrorDetail(f"Unknown field: {key!r}.", code=UNKNOWN_FIELD) for key in unknown
                        ]
                    }
                )
        return super().to_internal_value(data)
