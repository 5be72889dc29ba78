"""Names shared by every app's events.py and the WebSocket consumer.

Each server process's channel is in the group of every user and every device session it holds
sockets for (chats.stream.StreamDispatcher); a message to a group carries the user or session
it is for, and the process hands it to those sockets. SERVER_ID names this server process
(socket rows, stream wake-ups).
"""

import uuid

# One id per server process: every socket row names the process that holds it, and a stream
# wake-up names the process whose send caused it.
SERVER_ID = uuid.uuid4().hex


def user_group(user_id) -> str:
    return f"user.{user_id}"


def session_group(session_id) -> str:
    return f"session.{session_id}"
