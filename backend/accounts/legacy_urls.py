"""The previous system's paths, with or without a trailing slash."""

from backend.accounts import views
from backend.common.legacy import legacy_paths

urlpatterns = [
    *legacy_paths("get-profile/<id:user_id>", views.LegacyProfileView.as_view(), "legacy-profile"),
    *legacy_paths("get-account-details", views.LegacyAccountDetailsView.as_view(), "legacy-account-details"),
]
