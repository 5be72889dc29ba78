from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from accounts.api.jwks_views import JwksView
from messenger import views, web

api_v1 = [
    path("", include("accounts.api.urls")),
    path("", include("chats.api.urls")),
    path("", include("calls.api.urls")),
    path("", include("media.api.urls")),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("app/", web.app, name="app"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    # RFC 8615 fixes the path: verifiers find it without knowing the API's layout.
    path(".well-known/jwks.json", JwksView.as_view(), name="jwks"),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    # Unknown API paths answer JSON even with DEBUG on (Django's handler404 only runs with it off).
    re_path(r"^api/", views.api_not_found),
]

handler404 = "messenger.views.not_found"
handler500 = "messenger.views.server_error"
