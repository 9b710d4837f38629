from django.urls import path

from backend.payments import views

urlpatterns = [
    path("users/<id:user_id>/payments/", views.UserPaymentListView.as_view(), name="user-payments"),
    path("jobs/<id:job_id>/payments/", views.JobPaymentCreateView.as_view(), name="job-payments"),
    path("payments/<id:payment_id>/", views.PaymentDetailView.as_view(), name="payment-detail"),
    path("payments/<id:payment_id>/succeed/", views.PaymentSucceedView.as_view(), name="payment-succeed"),
    path("payments/<id:payment_id>/fail/", views.PaymentFailView.as_view(), name="payment-fail"),
    path("payments/<id:payment_id>/refund/", views.PaymentRefundView.as_view(), name="payment-refund"),
]
