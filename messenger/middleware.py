"""Keep API errors JSON even when a view crashes with DEBUG on."""

import logging
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse

from messenger.api.exceptions import error_body

logger = logging.getLogger("messenger.errors")


class ApiJsonErrorMiddleware:
    """Turn an unhandled exception under /api/ into a JSON 500 instead of Django's HTML page."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not request.path.startswith("/api/"):
            return None
        logger.exception("Unhandled error on %s %s", request.method, request.path)
        return JsonResponse(error_body("server_error", "Internal server error."), status=500)
