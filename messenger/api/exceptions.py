"""Render every REST error as {"code", "message", "details"}."""

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from messenger.errors import ApplicationError, error_body

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


def suspicious_request_error(exc: Exception) -> ApplicationError:
    """A request Django refuses to read (too many fields or files, too much form data, a bad host...).

    Django logs these to `django.security.<class name>` and answers 400; here they become the
    API's error with a code of their own.
    """
    if isinstance(exc, TooManyFieldsSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
        return ApplicationError(
            f"The request has more than {limit} fields.", code="too_many_fields", details={"max_fields": limit}
        )
    if isinstance(exc, TooManyFilesSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FILES
        return ApplicationError(
            f"The request has more than {limit} files.", code="too_many_files", details={"max_files": limit}
        )
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return ApplicationError(
            f"The request's form data is larger than {limit} bytes.",
            code="request_too_large",
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            details={"max_bytes": limit},
        )
    return ApplicationError("The request was refused.", code="bad_request")


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, SuspiciousOperation):
        logging.getLogger(f"django.security.{exc.__class__.__name__}").warning("%s", exc)
        exc = suspicious_request_error(exc)
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


# Where clients are programs that read JSON: errors there are the JSON error shape, even when Django
# itself answers (404, 500, a request it refuses before any view).
JSON_PATH_PREFIXES = ("/api/", "/.well-known/")


def wants_json_errors(path: str) -> bool:
    return path.startswith(JSON_PATH_PREFIXES)
