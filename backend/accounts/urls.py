from django.urls import path

from backend.accounts import views

urlpatterns = [
    path("auth/register/", views.RegisterView.as_view(), name="auth-register"),
    path("auth/token/", views.TokenObtainView.as_view(), name="auth-token"),
    path("auth/logout/", views.TokenRevokeView.as_view(), name="auth-logout"),
    path("auth/me/", views.WhoAmIView.as_view(), name="auth-me"),
    path("me/profile/", views.MyProfileView.as_view(), name="me-profile"),
    path("me/account-details/", views.MyAccountDetailsView.as_view(), name="me-account-details"),
    path("users/<id:user_id>/profile/", views.UserProfileView.as_view(), name="user-profile"),
    path("users/<id:user_id>/account-details/", views.UserAccountDetailsView.as_view(), name="user-account-details"),
]
