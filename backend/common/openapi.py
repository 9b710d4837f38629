"""Schema pieces the error library does not declare on its own."""

from rest_framework import serializers


class Error409Serializer(serializers.Serializer):
    code = serializers.CharField()
    detail = serializers.CharField()
    attr = serializers.CharField(allow_null=True)


class ErrorResponse409Serializer(serializers.Serializer):
    """The request conflicts with the resource's current state (wrong status, slots full, key reused)."""

    type = serializers.ChoiceField(choices=["client_error"])
    errors = Error409Serializer(many=True)


LEGACY_DESCRIPTION = (
    "Deprecated: a path of the previous system, kept for its clients. It answers with the same data as "
    "its canonical twin, with or without a trailing slash."
)
