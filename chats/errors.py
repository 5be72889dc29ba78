"""Stable error codes of the chats app, shared by REST bodies and WebSocket `error` frames, and the
constructors the app raises them with."""

from messenger.errors import ApplicationError, NotFound

NOT_FOUND = "not_found"  # also for chats the caller is not a member of: ids can't be probed
FORBIDDEN = "forbidden"  # a member without the role the action needs
NOT_ALLOWED_FOR_DIRECT = "not_allowed_for_direct"
CANNOT_MESSAGE_SELF = "cannot_message_self"
BLOCKED = "blocked"
EMPTY_MESSAGE = "empty_message"
CLIENT_ID_REUSED = "client_id_reused"
INVALID_REPLY = "invalid_reply"
CURSOR_EXPIRED = "cursor_expired"
VALIDATION_ERROR = "validation_error"  # as DRF's, for socket frames


def chat_not_found() -> NotFound:
    return NotFound("No such chat.")


def message_not_found() -> NotFound:
    return NotFound("No such message.")


def users_not_found(*, user_ids: list[str]) -> NotFound:
    return NotFound("Some of these users do not exist.", details={"user_ids": user_ids})


def validation_error(*, details) -> ApplicationError:
    """A socket frame's data that its serializer refused (REST gets the same code from DRF)."""
    return ApplicationError("The event data is invalid.", code=VALIDATION_ERROR, details=details)


def member_not_found() -> NotFound:
    return NotFound("This user is not a member of the chat.")


def forbidden(message: str = "Your role in this chat does not allow this.") -> ApplicationError:
    return ApplicationError(message, code=FORBIDDEN, status=403)


def not_allowed_for_direct() -> ApplicationError:
    return ApplicationError("Direct chats always have exactly two members.", code=NOT_ALLOWED_FOR_DIRECT)


def cannot_message_self() -> ApplicationError:
    return ApplicationError("You cannot open a direct chat with yourself.", code=CANNOT_MESSAGE_SELF)


def blocked() -> ApplicationError:
    return ApplicationError("You cannot message this user.", code=BLOCKED, status=403)


def empty_message() -> ApplicationError:
    return ApplicationError("A message needs text or an attachment.", code=EMPTY_MESSAGE)


def client_id_reused() -> ApplicationError:
    return ApplicationError("This client_id was already used for a message in another chat.", code=CLIENT_ID_REUSED)


def invalid_reply() -> ApplicationError:
    return ApplicationError("The message replied to is not in this chat.", code=INVALID_REPLY)


def cursor_expired(*, cursor: int, status: int = 400) -> ApplicationError:
    """A cursor older than the retention horizon (or from the future): reload over REST from `cursor`."""
    return ApplicationError(
        "This cursor can no longer be served; reload state over REST and use the new cursor.",
        code=CURSOR_EXPIRED,
        status=status,
        details={"cursor": cursor},
    )
