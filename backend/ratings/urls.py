from django.urls import path

from backend.ratings import views

urlpatterns = [
    path("jobs/<id:job_id>/reviews/", views.JobReviewCreateView.as_view(), name="job-reviews"),
    path("users/<id:user_id>/reviews/", views.UserReviewsReceivedView.as_view(), name="user-reviews-received"),
    path("users/<id:user_id>/reviews-given/", views.UserReviewsGivenView.as_view(), name="user-reviews-given"),
]
