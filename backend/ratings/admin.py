from django.contrib import admin

from backend.ratings.models import Review


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    """Moderation: staff can edit a review's comment or delete the review; who rated whom, and how, stays as written."""

    list_display = ["id", "job", "reviewer", "reviewee", "rating", "created_at"]
    list_filter = ["rating"]
    list_select_related = ["job", "reviewer", "reviewee"]
    search_fields = ["comment", "reviewer__email", "reviewee__email", "job__title"]
    raw_id_fields = ["job", "reviewer", "reviewee"]
    readonly_fields = ["job", "reviewer", "reviewee", "rating", "created_at"]
    date_hierarchy = "created_at"
    ordering = ["-created_at", "-id"]

    def has_add_permission(self, request) -> bool:
        return False
