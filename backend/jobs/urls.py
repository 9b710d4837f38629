from django.urls import path

from backend.jobs import views

urlpatterns = [
    path("jobs/", views.JobListView.as_view(), name="job-list"),
    path("jobs/<id:job_id>/", views.JobDetailView.as_view(), name="job-detail"),
    path("jobs/<id:job_id>/cancel/", views.JobCancelView.as_view(), name="job-cancel"),
    path("jobs/<id:job_id>/start/", views.JobStartView.as_view(), name="job-start"),
    path("jobs/<id:job_id>/complete/", views.JobCompleteView.as_view(), name="job-complete"),
    path("jobs/<id:job_id>/applications/", views.JobApplicationListView.as_view(), name="job-applications"),
    path(
        "applications/<id:application_id>/withdraw/",
        views.ApplicationWithdrawView.as_view(),
        name="application-withdraw",
    ),
    path("applications/<id:application_id>/accept/", views.ApplicationAcceptView.as_view(), name="application-accept"),
    path("me/applications/", views.MyApplicationListView.as_view(), name="me-applications"),
    path("me/jobs/", views.MyJobListView.as_view(), name="me-jobs"),
    path("applications/<id:application_id>/reject/", views.ApplicationRejectView.as_view(), name="application-reject"),
]
