"""Value formats shared by REST bodies and WebSocket payloads."""

from datetime import UTC, datetime


def iso_datetime(value: datetime | None) -> str | None:
    """RFC 3339 in UTC with a trailing Z, exactly as DRF's DateTimeField renders it."""
    if value is None:
        return None
    text = value.astimezone(UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text
