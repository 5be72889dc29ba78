from django.urls import path

from accounts.api import auth_views, contact_views, session_views, user_views

urlpatterns = [
    path("auth/register", auth_views.RegisterView.as_view(), name="auth-register"),
    path("auth/login", auth_views.LoginView.as_view(), name="auth-login"),
    path("auth/otp/request", auth_views.OtpRequestView.as_view(), name="auth-otp-request"),
    path("auth/otp/verify", auth_views.OtpVerifyView.as_view(), name="auth-otp-verify"),
    path("auth/refresh", auth_views.RefreshView.as_view(), name="auth-refresh"),
    path("auth/logout", auth_views.LogoutView.as_view(), name="auth-logout"),
    path("auth/ws-ticket", auth_views.WsTicketView.as_view(), name="auth-ws-ticket"),
    path("auth/sessions", session_views.SessionListView.as_view(), name="auth-sessions"),
    path("auth/sessions/<uuid:session_id>", session_views.SessionDetailView.as_view(), name="auth-session-detail"),
    path("users/me", user_views.MeView.as_view(), name="users-me"),
    path("users/search", user_views.UserSearchView.as_view(), name="users-search"),
    path("users/<uuid:user_id>", user_views.UserDetailView.as_view(), name="users-detail"),
    path("contacts", contact_views.ContactListView.as_view(), name="contacts"),
    path("contacts/sync", contact_views.ContactSyncView.as_view(), name="contacts-sync"),
    path("contacts/<int:contact_id>", contact_views.ContactDetailView.as_view(), name="contacts-detail"),
    path("blocks", contact_views.BlockListView.as_view(), name="blocks"),
    path("blocks/<uuid:user_id>", contact_views.BlockDetailView.as_view(), name="blocks-detail"),
]
