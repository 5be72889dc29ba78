"""Channel-layer group names shared by every app's events.py and the WebSocket consumer.

Each socket joins its user's group (every device of a user gets the user's events) and its
session's group (so revoking a session closes exactly that device's sockets).
"""


def user_group(user_id) -> str:
    return f"user.{user_id}"


def session_group(session_id) -> str:
    return f"session.{session_id}"
