"""The previous system's paths, with or without a trailing slash."""

from backend.common.legacy import legacy_paths
from backend.payments import views

urlpatterns = [
    *legacy_paths("users/<id:user_id>/payments", views.LegacyUserPaymentListView.as_view(), "legacy-user-payments"),
]
