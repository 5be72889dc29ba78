"""Render every REST error as {"code", "message", "details"}."""

import logging
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from messenger.errors import ApplicationError

logger = logging.getLogger(__name__)

# DRF's own exceptions get codes that read like ours.
_DRF_CODES = {
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
    exceptions.ParseError: "parse_error",
    exceptions.ValidationError: "validation_error",
}


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"code": code, "message": message, "details": details if details is not None else {}}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ApplicationError):
        set_rollback()
        retry_after = getattr(exc, "retry_after", None)
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
        return Response(error_body(exc.code, exc.message, exc.details), status=exc.status, headers=headers)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    if not isinstance(exc, exceptions.APIException):
        return None  # Django's 500 handler (messenger.views.server_error) renders and logs it.

    headers: dict[str, str] = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))
    set_rollback()

    code = _code_for(exc)
    if isinstance(exc, exceptions.ValidationError):
        details = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        return Response(error_body(code, "The request is invalid.", details), status=exc.status_code, headers=headers)
    if isinstance(exc, exceptions.Throttled):
        message = "Too many requests."
        details = {"retry_after": int(exc.wait) if exc.wait is not None else None}
        return Response(error_body(code, message, details), status=status.HTTP_429_TOO_MANY_REQUESTS, headers=headers)
    return Response(error_body(code, _message_for(exc)), status=exc.status_code, headers=headers)


def _message_for(exc: exceptions.APIException) -> str:
    # simplejwt's InvalidToken: {"detail": "...", "code": "...", "messages": [...]}.
    if isinstance(exc.detail, dict) and "detail" in exc.detail:
        return str(exc.detail["detail"])
    return str(exc.detail)


def _code_for(exc: exceptions.APIException) -> str:
    # simplejwt's InvalidToken carries its own detail dict with a "code".
    detail = exc.detail
    if (
        isinstance(detail, dict)
        and isinstance(detail.get("code"), str)
        and not isinstance(exc, exceptions.ValidationError)
    ):
        return detail["code"]
    explicit = getattr(detail, "code", None)
    if explicit and explicit != exc.default_code:
        return explicit  # raised with code="...", e.g. AuthenticationFailed(code="session_revoked")
    for exc_class, code in _DRF_CODES.items():
        if isinstance(exc, exc_class):
            return code
    return exc.default_code
