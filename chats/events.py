"""Events of the chats app: the only module here that writes the stream or talks to the channel layer.

Two kinds of events leave the server:

* Durable events (messages, receipts, membership): `stream_event_record` inserts a StreamEvent
  row as the last step of the writing transaction. After commit, every server process's
  StreamDispatcher (chats.stream) is woken, reads the new rows in id order and pushes them to
  its local sockets. The wake-up is a PostgreSQL NOTIFY sent with the transaction (delivered
  only if it commits) plus a direct poke of this process's dispatcher; a lost wake-up only
  delays delivery until the dispatcher's next poll, it loses nothing.
* Ephemeral events (typing, presence): sent through the channel layer to each recipient's user
  group, encoded once. Losing one is harmless.
"""

import json
from collections.abc import Iterable
from typing import Any

from channels.layers import get_channel_layer
from django.db import connection, transaction

from chats.models import StreamEvent
from messenger.api.formats import iso_datetime
from messenger.realtime import user_group

STREAM_NOTIFY_CHANNEL = "messenger_stream"

# Any constant works; it names the one advisory lock that orders stream inserts.
STREAM_ORDER_LOCK_KEY = 7_236_112_001


def stream_event_record(
    *, type: str, payload: dict[str, Any], chat_id=None, user_id=None, origin: str = ""
) -> StreamEvent:
    """Append a durable event. Call it last in the transaction: it serialises commits.

    Ids come from a sequence, so two transactions could otherwise commit ids out of order and
    a reader at `id > cursor` would skip the late one forever. Taking one transaction-scoped
    lock before the insert makes id order equal commit order. SQLite already allows a single
    writer at a time. The lock is held only from here to commit, so keep this the last write.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # One round trip: the ordering lock, and the wake-up for other processes, which
            # PostgreSQL delivers at commit (and drops on rollback).
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s), pg_notify(%s, '')", [STREAM_ORDER_LOCK_KEY, STREAM_NOTIFY_CHANNEL]
            )
    event = StreamEvent.objects.create(type=type, payload=payload, chat_id=chat_id, user_id=user_id, origin=origin)
    transaction.on_commit(wake_local_dispatchers)
    return event


def wake_local_dispatchers() -> None:
    """Poke this process's dispatchers after a commit (other processes get the NOTIFY)."""
    from chats import stream  # stream imports this module

    stream.wake_local_dispatchers()


def encode_frame(event_type: str, data: dict[str, Any], cursor: int | None = None) -> str:
    """Encode a server event frame once; the same text goes to every recipient."""
    frame: dict[str, Any] = {"type": event_type}
    if cursor is not None:
        frame["cursor"] = cursor
    frame["data"] = data
    return json.dumps(frame, separators=(",", ":"), default=str)


def encode_frame_with_data(event_type: str, data_json: str, *, cursor: int) -> str:
    """encode_frame for a payload that is JSON text already (as read from the stream table)."""
    return f'{{"type":{json.dumps(event_type)},"cursor":{cursor},"data":{data_json}}}'


async def ephemeral_broadcast(*, event_type: str, data: dict[str, Any], user_ids: Iterable) -> None:
    """Send a best-effort event to every socket of each user (see chats.stream: relayed per process)."""
    layer = get_channel_layer()
    frame = encode_frame(event_type, data)
    for user_id in user_ids:
        await layer.group_send(user_group(user_id), {"type": "client.event", "user_id": str(user_id), "frame": frame})


def typing_payload(*, chat_id, user_id) -> dict[str, str]:
    return {"chat_id": str(chat_id), "user_id": str(user_id)}


def presence_payload(*, user_id, online: bool, last_seen) -> dict[str, Any]:
    return {
        "user_id": str(user_id),
        "status": "online" if online else "offline",
        "last_seen": iso_datetime(last_seen),
    }
