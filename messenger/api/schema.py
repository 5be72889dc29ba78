"""OpenAPI helpers: the shared error body and per-endpoint error documentation."""

from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

ErrorSerializer = inline_serializer(
    name="Error",
    fields={
        "code": serializers.CharField(help_text="Stable machine-readable error code."),
        "message": serializers.CharField(help_text="Human-readable explanation."),
        "details": serializers.JSONField(help_text="Field errors or extra context; {} when none."),
    },
)


def errors(**codes_by_status: str) -> dict[int, OpenApiResponse]:
    """`errors(e400="validation_error, username_taken", e401="...")` -> schema responses."""
    return {
        int(status.lstrip("e")): OpenApiResponse(ErrorSerializer, description=f"Error codes: {codes}")
        for status, codes in codes_by_status.items()
    }


AUTH_ERRORS = errors(e401="not_authenticated, token_not_valid, session_revoked")


# Refusals of a request's shape, whatever the endpoint: a NUL in a query parameter (every
# operation), and for operations with a body, the parsers' and the server's limits.
REQUEST_ERRORS = {"400": ["validation_error"]}
BODY_ERRORS = {"400": ["parse_error", "too_many_fields", "too_many_files"], "413": ["request_too_large"]}


def document_request_errors(result: dict, **kwargs) -> dict:
    """drf-spectacular postprocessing hook: add REQUEST_ERRORS / BODY_ERRORS to every operation's own codes.

    They come from messenger.middleware.RequestHygieneMiddleware, messenger/api/parsers.py,
    messenger/api/exceptions.py and messenger/daphne_limits.py, not from the views.
    """
    for operations in result["paths"].values():
        for operation in operations.values():
            added = {status: list(codes) for status, codes in REQUEST_ERRORS.items()}
            if "requestBody" in operation:
                for status, codes in BODY_ERRORS.items():
                    added.setdefault(status, []).extend(codes)
            responses = operation.setdefault("responses", {})
            for status, codes in added.items():
                response = responses.setdefault(
                    status,
                    {
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                        "description": "Error codes: ",
                    },
                )
                missing = [code for code in codes if code not in response["description"]]
                if missing:
                    separator = "" if response["description"].endswith(": ") else ", "
                    response["description"] += separator + ", ".join(missing)
    return result
