"""The previous system's paths, with or without a trailing slash."""

from backend.common.legacy import legacy_paths
from backend.ratings import views

urlpatterns = [
    *legacy_paths("reviews/<id:user_id>", views.LegacyUserReviewsReceivedView.as_view(), "legacy-reviews-received"),
    *legacy_paths("ratings/reviewer_<id:user_id>/", views.LegacyUserReviewsGivenView.as_view(), "legacy-reviews-given"),
]
