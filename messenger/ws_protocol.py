"""Constants and errors of the WebSocket protocol (documented in docs/asyncapi.yaml)."""

from messenger.errors import ApplicationError

# Close codes (4000-4999 are for applications).
CLOSE_SESSION_ENDED = 4401  # the device session was logged out or revoked


class ProtocolError(ApplicationError):
    """A malformed or refused frame. Answered with an `error` frame; the socket stays open."""

    def __init__(self, message: str, *, code: str, ref: str | None = None) -> None:
        super().__init__(message, code=code)
        self.ref = ref
