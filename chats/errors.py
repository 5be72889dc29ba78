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
TOO_MANY_PINNED = "too_many_pinned"
TOO_MANY_FOLDERS = "too_many_folders"
INVITE_EXPIRED = "invite_expired"
INVITE_REVOKED = "invite_revoked"
INVITE_EXHAUSTED = "invite_exhausted"
BANNED = "banned"  # removed from the chat by an owner or admin (chats.models.ChatBan)
TEXT_TOO_LONG = "text_too_long"
EDIT_WINDOW_EXPIRED = "edit_window_expired"
INVALID_EMOJI = "invalid_emoji"
TOO_MANY_REACTIONS = "too_many_reactions"
TOO_MANY_PINS = "too_many_pins"
NOT_FORWARDABLE = "not_forwardable"


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


def text_too_long(*, max_length: int) -> ApplicationError:
    return ApplicationError(
        f"A message's text is at most {max_length} characters.", code=TEXT_TOO_LONG, details={"max": max_length}
    )


def edit_window_expired(*, seconds: int) -> ApplicationError:
    return ApplicationError(
        "This message is too old to edit.", code=EDIT_WINDOW_EXPIRED, status=403, details={"seconds": seconds}
    )


def invalid_emoji() -> ApplicationError:
    return ApplicationError("A reaction is one emoji.", code=INVALID_EMOJI)


def too_many_reactions(*, max_count: int) -> ApplicationError:
    return ApplicationError(
        f"A message carries at most {max_count} different reactions.",
        code=TOO_MANY_REACTIONS,
        details={"max": max_count},
    )


def too_many_pins(*, max_count: int) -> ApplicationError:
    return ApplicationError(
        f"A chat has at most {max_count} pinned messages.", code=TOO_MANY_PINS, details={"max": max_count}
    )


def not_forwardable() -> ApplicationError:
    return ApplicationError("Only users' messages can be forwarded.", code=NOT_FORWARDABLE)


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


def too_many_pinned(*, max_pinned: int) -> ApplicationError:
    return ApplicationError(
        f"At most {max_pinned} chats can be pinned; unpin one first.", code=TOO_MANY_PINNED, details={"max": max_pinned}
    )


def too_many_folders(*, max_folders: int) -> ApplicationError:
    return ApplicationError(
        f"At most {max_folders} folders; delete one first.", code=TOO_MANY_FOLDERS, details={"max": max_folders}
    )


def folder_not_found() -> NotFound:
    return NotFound("No such folder.")


def chats_not_found(*, chat_ids: list[str]) -> NotFound:
    return NotFound("Some of these chats do not exist or are not yours.", details={"chat_ids": chat_ids})


def invite_not_found() -> NotFound:
    return NotFound("No such invite link.")


def invite_expired() -> ApplicationError:
    return ApplicationError("This invite link has expired.", code=INVITE_EXPIRED, status=410)


def invite_revoked() -> ApplicationError:
    return ApplicationError("This invite link was revoked.", code=INVITE_REVOKED, status=410)


def invite_exhausted() -> ApplicationError:
    return ApplicationError("This invite link has been used as often as it allows.", code=INVITE_EXHAUSTED, status=410)


def banned() -> ApplicationError:
    return ApplicationError(
        "You were removed from this chat; only its owner or an admin can add you back.", code=BANNED, status=403
    )
