"""The previous system's paths, with or without a trailing slash."""

from backend.common.legacy import legacy_paths
from backend.jobs import views

urlpatterns = [
    *legacy_paths("jobs/<id:job_id>", views.LegacyJobDetailView.as_view(), "legacy-job-detail"),
]
