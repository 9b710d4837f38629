from django.conf import settings
from django.db import models
from django.db.models import Q


class Review(models.Model):
    """A rating left by one party of a completed job for another."""

    job = models.ForeignKey("jobs.Job", on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reviews_given")
    reviewee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reviews_received")
    rating = models.PositiveSmallIntegerField()
    comment = models.TextField(max_length=4000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(rating__gte=1) & Q(rating__lte=5), name="review_rating_1_to_5"),
            models.CheckConstraint(condition=~Q(reviewer=models.F("reviewee")), name="review_not_self"),
            models.UniqueConstraint(fields=["job", "reviewer", "reviewee"], name="review_once_per_job_and_pair"),
        ]
        indexes = [
            # Reviews a user received, newest first: WHERE reviewee_id = ? ORDER BY created_at DESC.
            # (Their average and count read the rows through the reviewee_id foreign-key index.)
            models.Index(fields=["reviewee", "-created_at", "-id"], name="review_reviewee_created_idx"),
            # Reviews a user wrote, newest first: WHERE reviewer_id = ? ORDER BY created_at DESC.
            models.Index(fields=["reviewer", "-created_at", "-id"], name="review_reviewer_created_idx"),
        ]

    def __str__(self) -> str:
        return f"Review {self.pk}: {self.rating}/5"
