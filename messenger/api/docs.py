"""The API explorers (Swagger UI at /api/docs/, ReDoc at /api/redoc/) load nothing from another host.

Both come from drf-spectacular-sidecar's bundles, served as static files, except one: ReDoc's
bundle draws the "API docs by Redocly" footer with an image from cdn.redoc.ly, unconditionally
(no option turns it off). It is served from here with that address replaced by a blank image
(settings.SPECTACULAR_SETTINGS["REDOC_DIST"] points ReDoc's page at this view). Its page's
template (templates/drf_spectacular/redoc.html) drops drf-spectacular's Google Fonts links.
"""

import functools
from pathlib import Path

from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

REDOC_BUNDLE = "drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js"
REDOCLY_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"
BLANK_IMAGE = b"data:image/svg+xml,%3Csvg xmlns=%22http://www.w3.org/2000/svg%22/%3E"


@functools.cache
def redoc_bundle() -> bytes:
    """ReDoc's standalone bundle, with the Redocly logo's address replaced (read once per process)."""
    path = finders.find(REDOC_BUNDLE)
    assert isinstance(path, str), f"{REDOC_BUNDLE} is missing (drf-spectacular-sidecar)"
    return Path(path).read_bytes().replace(REDOCLY_LOGO, BLANK_IMAGE)


@require_safe
def redoc_bundle_view(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(redoc_bundle(), content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=86400"
    return response
