from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from messenger import views, web
from messenger.api.docs import redoc_bundle_view
from messenger.middleware import content_security_policy

api_docs_policy = content_security_policy(settings.CONTENT_SECURITY_POLICY_API_DOCS)

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
    path("", include("accounts.api.well_known_urls")),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # Swagger UI's start-up script is served from ?script (the split view), not inline.
    path("api/docs/", api_docs_policy(SpectacularSwaggerSplitView.as_view(url_name="schema")), name="swagger-ui"),
    path("api/redoc/", api_docs_policy(SpectacularRedocView.as_view(url_name="schema")), name="redoc"),
    path("api/redoc/bundles/redoc.standalone.js", redoc_bundle_view, name="redoc-bundle"),
    # Unknown API paths answer JSON even with DEBUG on (Django's handler404 only runs with it off).
    re_path(r"^api/", views.api_not_found),
]

handler400 = "messenger.views.bad_request"
handler404 = "messenger.views.not_found"
handler500 = "messenger.views.server_error"
