"""Security headers and request hygiene for every path, and API errors that stay JSON even when a
view crashes with DEBUG on."""

import functools
import logging
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse

from messenger.api.exceptions import wants_json_errors
from messenger.api.parsers import nul_errors
from messenger.errors import error_body

logger = logging.getLogger("messenger.errors")


class ContentSecurityPolicyMiddleware:
    """Set `settings.CONTENT_SECURITY_POLICY` on every response whose view did not set its own.

    Outermost, so static files (WhiteNoise) and error pages get it too. JSON answers of the API
    are data, not documents, and go without (as the history fast path's do, header for header):
    nosniff keeps a browser from reading them as anything else and X-Frame-Options from framing
    them. Django's SecurityMiddleware adds nosniff, Referrer-Policy, COOP and (over HTTPS in
    production) HSTS; frame-ancestors here and X-Frame-Options keep every page out of frames.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not response.get("Content-Type", "").startswith("application/json"):
            response.headers.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        return response


def content_security_policy(policy: str) -> Callable:
    """A view decorator: the view's responses carry `policy` instead of the default one."""

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            response = view(request, *args, **kwargs)
            response.headers["Content-Security-Policy"] = policy
            return response

        return wrapped

    return decorate


class RequestHygieneMiddleware:
    """Refuse a query string with a NUL character (%00) before any view reads it.

    The API answers 400 `validation_error` naming the parameters, as it does for a NUL in a body
    field (messenger/api/parsers.py); other pages (the admin's search) a plain 400.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        query = request.META.get("QUERY_STRING", "")
        if "%00" in query or "\x00" in query:
            errors = nul_errors(request.GET.lists())
            if errors:
                logger.warning("NUL in the query string of %s %s", request.method, request.path)
                if wants_json_errors(request.path):
                    return JsonResponse(error_body("validation_error", "The request is invalid.", errors), status=400)
                return HttpResponseBadRequest("Null characters are not allowed.", content_type="text/plain")
        return self.get_response(request)


class ApiJsonErrorMiddleware:
    """Turn an unhandled exception under /api/ into a JSON 500 instead of Django's HTML page."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not wants_json_errors(request.path):
            return None
        logger.exception("Unhandled error on %s %s", request.method, request.path)
        return JsonResponse(error_body("server_error", "Internal server error."), status=500)
