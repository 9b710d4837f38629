from django.urls import path

from backend.perf import views

urlpatterns = [
    path("ops/floor/", views.FloorView.as_view(), name="ops-floor"),
]
