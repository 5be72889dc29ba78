"""Events of the chats app: the only module of the app that writes the stream or publishes frames.

Two kinds of events leave the server:

* Durable events (messages, receipts, membership): `stream_event_record` appends a StreamEvent row
  as the last step of the writing transaction (the send function, chats/sql/, appends its own
  through the same SQL function). After commit, every process's stream tail (chats.stream_tail)
  is woken by the NOTIFY sent with the transaction, reads the new rows in id order and pushes them
  to its local sockets. A lost wake-up only delays delivery until the next poll; it loses nothing.
* Ephemeral events (typing, presence): published through the channel layer (messenger.relay) to
  each recipient's sockets, encoded once. Losing one is harmless.
"""

import json
from collections.abc import Iterable
from typing import Any

from asgiref.sync import async_to_sync
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from chats.models import StreamEvent
from chats.payloads import presence_payload, typing_payload
from chats.selectors import presence_audience
from messenger.relay import publish_to_users
from messenger.ws_protocol import encode_frame

STREAM_NOTIFY_CHANNEL = "messenger_stream"

# Any constant works; it names the one advisory lock that orders stream inserts (chats/sql/).
STREAM_ORDER_LOCK_KEY = 7_236_112_001

_APPEND_SQL = "SELECT chats_stream_append(%s, %s, %s, %s::jsonb, %s, %s, %s, %s, '')"


def stream_event_record(
    *, type: str, payload: dict[str, Any], chat_id=None, user_id=None, origin: str = ""
) -> StreamEvent:
    """Append a durable event. Call it last in the transaction: it serialises commits until then.

    It concerns the members of `chat_id` who joined before it, and `user_id` if given; `origin` is
    the socket that caused it, which is answered with an ack instead.
    """
    created_at = timezone.now()
    payload_json = json.dumps(payload, cls=DjangoJSONEncoder)
    with connection.cursor() as cursor:
        cursor.execute(
            _APPEND_SQL,
            [type, chat_id, user_id, payload_json, origin, created_at, STREAM_ORDER_LOCK_KEY, STREAM_NOTIFY_CHANNEL],
        )
        (event_id,) = cursor.fetchone()
    return StreamEvent(
        id=event_id,
        type=type,
        chat_id=chat_id,
        user_id=user_id,
        payload=payload,
        origin=origin,
        created_at=created_at,
    )


async def typing_changed(*, chat_id: str, user_id: str, typing: bool, recipients: Iterable[str]) -> None:
    """typing:start / typing:stop to the other members of the chat."""
    frame = encode_frame("typing:start" if typing else "typing:stop", typing_payload(chat_id=chat_id, user_id=user_id))
    await publish_to_users(recipients, frame)


def presence_changed_on_commit(*, user_id, online: bool, last_seen) -> None:
    """After commit, presence:update to everyone who sees the user's presence (chats.selectors)."""

    def publish() -> None:
        frame = encode_frame("presence:update", presence_payload(user_id=user_id, online=online, last_seen=last_seen))
        async_to_sync(publish_to_users)(presence_audience(user_id=user_id), frame)

    transaction.on_commit(publish)
