"""The API's request parsers: DRF's, refusing NUL characters anywhere in what they parse.

PostgreSQL text cannot hold NUL (psycopg raises on it), and no client has a reason to send one.
DRF's CharField already refuses it in the fields it validates; refusing it here covers every
string of a JSON or multipart body, keys and nested values included, whoever reads them. Query
parameters get the same check in `messenger.middleware.RequestHygieneMiddleware`.
"""

from collections.abc import Iterable
from typing import Any

from rest_framework import exceptions, parsers

NUL_MESSAGE = "Null characters are not allowed."


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(key) or _has_nul(item) for key, item in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(item) for item in value)
    return False


def nul_errors(items: Iterable[tuple[str, Any]]) -> dict[str, list[str]]:
    """{name: [NUL_MESSAGE]} for each (name, value) whose name or value holds a NUL somewhere."""
    return {name: [NUL_MESSAGE] for name, value in items if _has_nul(name) or _has_nul(value)}


def refuse_nul(items: Iterable[tuple[str, Any]]) -> None:
    """Raise `validation_error` naming the fields with a NUL, as DRF's CharField would."""
    errors = nul_errors(items)
    if errors:
        raise exceptions.ValidationError(errors, code="null_characters")


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        refuse_nul(data.items() if isinstance(data, dict) else [("non_field_errors", data)])
        return data


class MultiPartParser(parsers.MultiPartParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parsed = super().parse(stream, media_type, parser_context)
        refuse_nul(parsed.data.lists())  # (Django drops unprintable characters from file names itself)
        return parsed
