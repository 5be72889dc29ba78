"""Stable error codes of the calls app, shared by REST bodies and WebSocket `error` frames, and the
constructors the app raises them with. Codes of other apps it raises: chats' `blocked`, and
`not_found` / `validation_error`."""

from chats import errors as chat_errors
from messenger.errors import ApplicationError, NotFound

NOT_FOUND = "not_found"  # also for calls of chats the caller is not in, and for signaling it may not send
BLOCKED = chat_errors.BLOCKED
CALL_IN_PROGRESS = "call_in_progress"
CALL_FULL = "call_full"
CALL_NOT_ALLOWED = "call_not_allowed"
CALL_ENDED = "call_ended"
CALL_ALREADY_JOINED = "call_already_joined"


def call_not_found() -> NotFound:
    return NotFound("No such call.")


def call_in_progress(*, call_id) -> ApplicationError:
    return ApplicationError(
        "This chat has a call going on already; join or answer it.",
        code=CALL_IN_PROGRESS,
        status=409,
        details={"call_id": str(call_id)},
    )


def call_full(*, max_participants: int) -> ApplicationError:
    return ApplicationError(
        "This call has as many participants as it can take.",
        code=CALL_FULL,
        status=409,
        details={"max_participants": max_participants},
    )


def call_not_allowed() -> ApplicationError:
    return ApplicationError("Channels have no calls.", code=CALL_NOT_ALLOWED)


def call_ended(*, call_id) -> ApplicationError:
    return ApplicationError("This call has ended.", code=CALL_ENDED, status=409, details={"call_id": str(call_id)})


def call_already_joined(*, call_id) -> ApplicationError:
    return ApplicationError(
        "You are in this call already, on this or another device.",
        code=CALL_ALREADY_JOINED,
        status=409,
        details={"call_id": str(call_id)},
    )


def blocked() -> ApplicationError:
    return ApplicationError("You cannot call this user.", code=BLOCKED, status=403)


def invalid(details: dict) -> ApplicationError:
    return ApplicationError("The event data is invalid.", code="validation_error", details=details)
