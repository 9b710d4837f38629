"""Output shapes shared by several apps."""

from rest_framework import serializers

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
