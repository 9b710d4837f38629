from django.urls import path

from bench import views

urlpatterns = [
    path("ops/floor/", views.FloorView.as_view(), name="ops-floor"),
]
