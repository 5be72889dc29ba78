"""One field list per payload, rendered two ways: a Python dict, and SQL that renders the same JSON.

A payload that a hot read path renders inside PostgreSQL (the history page: chats.history_fast)
declares its fields once, each with the Python value and the SQL expression of the same JSON text,
side by side, so a new field cannot be added to one rendering and forgotten in the other; the
tests hold the two renderings to the same bytes.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class PayloadField:
    name: str
    value: Callable[[Any], Any]  # the field's value in the Python payload
    sql: str  # an SQL expression rendering the same value as JSON text


def payload(fields: Sequence[PayloadField], obj: Any) -> dict[str, Any]:
    return {field.name: field.value(obj) for field in fields}


def payload_sql(fields: Sequence[PayloadField]) -> str:
    """An SQL expression rendering the JSON object of `fields`, in their order, as text."""
    parts = [
        f"""'{"{" if index == 0 else ","}"{field.name}":' || ({field.sql})""" for index, field in enumerate(fields)
    ]
    return " || ".join(parts) + " || '}'"


def sql_iso_datetime(column: str) -> str:
    """A timestamptz as iso_datetime() renders it (UTC, microseconds only if any), quoted; SQL null stays null."""
    return (
        f"""coalesce('"' || to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS') || """
        f"CASE WHEN extract(microseconds FROM {column})::bigint %% 1000000 = 0 THEN '' "
        f"""ELSE to_char({column} AT TIME ZONE 'UTC', '.US') END || 'Z"', 'null')"""
    )


def sql_json(expression: str) -> str:
    """Any SQL value as JSON text (strings quoted and escaped; SQL null is 'null')."""
    return f"coalesce(to_json({expression})::text, 'null')"


def sql_json_id(expression: str) -> str:
    """A uuid (or null) as a JSON string (or null), without to_json's cost."""
    return f"""coalesce('"' || {expression} || '"', 'null')"""
