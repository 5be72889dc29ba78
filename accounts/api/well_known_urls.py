"""URLs outside /api/v1/ whose paths a standard fixes (RFC 8615), mounted at the site root."""

from django.urls import path

from accounts.api.jwks_views import JwksView

urlpatterns = [path(".well-known/jwks.json", JwksView.as_view(), name="jwks")]
