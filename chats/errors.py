"""Stable error codes of the chats app, shared by REST bodies and WebSocket `error` frames."""

NOT_FOUND = "not_found"  # also for chats the caller is not a member of: ids can't be probed
FORBIDDEN = "forbidden"  # a member without the role the action needs
NOT_ALLOWED_FOR_DIRECT = "not_allowed_for_direct"
CANNOT_MESSAGE_SELF = "cannot_message_self"
BLOCKED = "blocked"
EMPTY_MESSAGE = "empty_message"
CLIENT_ID_REUSED = "client_id_reused"
INVALID_REPLY = "invalid_reply"
CURSOR_EXPIRED = "cursor_expired"
