from django.urls import path

from accounts.api import views

urlpatterns = [
    path("auth/register", views.RegisterView.as_view(), name="auth-register"),
    path("auth/login", views.LoginView.as_view(), name="auth-login"),
    path("auth/otp/request", views.OtpRequestView.as_view(), name="auth-otp-request"),
    path("auth/otp/verify", views.OtpVerifyView.as_view(), name="auth-otp-verify"),
    path("auth/refresh", views.RefreshView.as_view(), name="auth-refresh"),
    path("auth/logout", views.LogoutView.as_view(), name="auth-logout"),
    path("auth/ws-ticket", views.WsTicketView.as_view(), name="auth-ws-ticket"),
    path("auth/sessions", views.SessionListView.as_view(), name="auth-sessions"),
    path("auth/sessions/<uuid:session_id>", views.SessionDetailView.as_view(), name="auth-session-detail"),
    path("users/me", views.MeView.as_view(), name="users-me"),
    path("users/search", views.UserSearchView.as_view(), name="users-search"),
    path("users/<uuid:user_id>", views.UserDetailView.as_view(), name="users-detail"),
    path("contacts", views.ContactListView.as_view(), name="contacts"),
    path("contacts/sync", views.ContactSyncView.as_view(), name="contacts-sync"),
    path("contacts/<int:contact_id>", views.ContactDetailView.as_view(), name="contacts-detail"),
    path("blocks", views.BlockListView.as_view(), name="blocks"),
    path("blocks/<uuid:user_id>", views.BlockDetailView.as_view(), name="blocks-detail"),
]
