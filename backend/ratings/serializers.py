from rest_framework import serializers

from backend.common.input import InputSerializer
from backend.common.serializers import MAX_ID, JobSummarySerializer, UserSummarySerializer
from backend.ratings.models import Review


class ReviewOutputSerializer(serializers.ModelSerializer):
    """A review left by one side of a completed job (reviewer) for the other (reviewee)."""

    job = JobSummarySerializer(read_only=True)
    reviewer = UserSummarySerializer(read_only=True)
    reviewee = UserSummarySerializer(read_only=True)

    class Meta:
        model = Review
        fields = ["id", "job", "reviewer", "reviewee", "rating", "comment", "created_at"]
        read_only_fields = fields


class ReviewSummaryOutputSerializer(serializers.Serializer):
    """The top-level fields a list of the reviews a user received adds next to ``count``."""

    average_rating = serializers.DecimalField(
        max_digits=3,
        decimal_places=2,
        allow_null=True,
        read_only=True,
        help_text="Average of every review the user received (all pages), or null without reviews.",
    )


class ReviewCreateInputSerializer(InputSerializer):
    reviewee = serializers.IntegerField(
        min_value=1,
        max_value=MAX_ID,
        help_text="Id of the user reviewed: the client reviews an accepted worker, a worker the client.",
    )
    rating = serializers.IntegerField(min_value=1, max_value=5, help_text="1 (worst) to 5 (best).")
    comment = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")
