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
