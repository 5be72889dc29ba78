"""Project-level views: health probes, the landing page and JSON error pages under /api/."""

import asyncio
import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.defaults import bad_request as django_bad_request
from django.views.defaults import page_not_found
from django.views.defaults import server_error as django_server_error

from messenger.api.exceptions import suspicious_request_error, wants_json_errors
from messenger.errors import error_body

logger = logging.getLogger(__name__)


def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up and answering."""
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    """The database and the channel layer are reachable."""
    checks = {"database": _check_database(), "channel_layer": _check_channel_layer()}
    ready = all(value == "ok" for value in checks.values())
    return JsonResponse({"status": "ok" if ready else "unavailable", "checks": checks}, status=200 if ready else 503)


def _check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except Exception as exc:  # noqa: BLE001 - a probe reports any failure instead of raising
        logger.warning("readyz: database check failed: %s", exc)
        return "error"


def _check_channel_layer() -> str:
    async def round_trip() -> None:
        layer = get_channel_layer()
        channel = await layer.new_channel("readyz.")
        await layer.send(channel, {"type": "readyz.ping"})
        await asyncio.wait_for(layer.receive(channel), timeout=2)

    try:
        async_to_sync(round_trip)()
        return "ok"
    except Exception as exc:  # noqa: BLE001
        logger.warning("readyz: channel layer check failed: %s", exc)
        return "error"


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html")


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if wants_json_errors(request.path):
        return JsonResponse(error_body("not_found", "Not found."), status=404)
    return page_not_found(request, exception)


@csrf_exempt  # an unknown path is 404 whatever the method (CSRF would answer a POST with its HTML 403)
def api_not_found(request: HttpRequest) -> JsonResponse:
    return JsonResponse(error_body("not_found", "Not found."), status=404)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's 400 (a SuspiciousOperation or BadRequest outside a DRF view, e.g. a disallowed host)."""
    if wants_json_errors(request.path):
        error = suspicious_request_error(exception)
        return JsonResponse(error_body(error.code, error.message, error.details), status=error.status)
    return django_bad_request(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if wants_json_errors(request.path):
        return JsonResponse(error_body("server_error", "Internal server error."), status=500)
    return django_server_error(request)
