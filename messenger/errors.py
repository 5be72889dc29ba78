"""The one application error type. Each app lists its stable error codes in its `errors.py`."""

from typing import Any


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    """The body of every error response: {"code", "message", "details"}."""
    return {"code": code, "message": message, "details": details if details is not None else {}}


class ApplicationError(Exception):
    """A business-rule failure the client can act on: rendered as {"code", "message", "details"}.

    The same instance becomes an HTTP response in REST (status) and an `error` frame on the
    WebSocket (code), so both transports report the same code for the same problem.
    """

    def __init__(self, message: str, *, code: str, status: int = 400, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.details = details if details is not None else {}


class NotFound(ApplicationError):
    """A missing object and a forbidden one look the same, so ids can't be probed."""

    def __init__(self, message: str = "Not found.", *, code: str = "not_found", details=None) -> None:
        super().__init__(message, code=code, status=404, details=details)
