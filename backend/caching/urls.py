from django.urls import path

from backend.caching import views

urlpatterns = [
    path("ops/cache/stats/", views.CacheStatsView.as_view(), name="ops-cache-stats"),
]
