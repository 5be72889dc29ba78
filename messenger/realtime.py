"""Names shared by every app's events.py and the WebSocket consumer.

Each socket joins its user's group (every device of a user gets the user's events) and its
session's group (so revoking a session closes exactly that device's sockets). SERVER_ID names
this server process (socket rows, stream wake-ups).
"""

import uuid

# One id per server process: every socket row names the process that holds it, and a stream
# wake-up names the process whose send caused it.
SERVER_ID = uuid.uuid4().hex


def user_group(user_id) -> str:
    return f"user.{user_id}"


def session_group(session_id) -> str:
    return f"session.{session_id}"
