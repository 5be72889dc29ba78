"""WebSocket handlers for the chats app's client events.

Each handler gets the consumer and the frame's `data`, validates it with the same serializers
REST uses, calls a service, and returns the `ack` data. Services publish the resulting events.
"""

import asyncio
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils import timezone

from chats import errors, selectors, services
from chats.api import serializers as s
from chats.events import ephemeral_broadcast, typing_payload
from chats.presence import presence_socket_closed, presence_socket_opened
from chats.services.receipts import receipt_payload
from messenger.api.formats import iso_datetime
from messenger.db import db_parallel
from messenger.errors import ApplicationError, NotFound

if TYPE_CHECKING:
    from messenger.consumers import ClientConsumer

Handler = Callable[["ClientConsumer", dict[str, Any]], Awaitable[dict[str, Any] | None]]
HANDLERS: dict[str, Handler] = {}


def handles(event_type: str) -> Callable[[Handler], Handler]:
    def register(function: Handler) -> Handler:
        HANDLERS[event_type] = function
        return function

    return register


def validated(serializer_class, data: dict[str, Any]) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    if not serializer.is_valid():
        raise ApplicationError("The event data is invalid.", code="validation_error", details=serializer.errors)
    return serializer.validated_data


# --- messages --------------------------------------------------------------------------------------


_UNUSUAL_CHARACTERS = re.compile("[\x00\ud800-\udfff]")  # refused by DRF's CharField validators


def message_send_input(data: dict[str, Any]) -> dict[str, Any]:
    """MessageSendSerializer's validated data, without building a serializer for a plain frame.

    Instantiating the serializer (DRF deep-copies its fields each time) cost more CPU than the
    rest of a send. A frame of the ordinary shape - string ids, a string text within the limit,
    no attachments - is checked here to the same rules; anything else, valid or not, goes through
    the serializer, so the edge cases and every error come from one place.
    """
    chat_id, client_id, text = data.get("chat_id"), data.get("client_id"), data.get("text", "")
    reply_to = data.get("reply_to")
    if (
        type(chat_id) is str
        and type(client_id) is str
        and type(text) is str
        and (reply_to is None or type(reply_to) is str)
        and data.get("attachment_ids", []) == []
        and 0 < len(client_id) <= 64
        and client_id == client_id.strip()
        and len(text) <= settings.MESSAGE_MAX_LENGTH
        and not _UNUSUAL_CHARACTERS.search(client_id)
        and not _UNUSUAL_CHARACTERS.search(text)
    ):
        try:
            return {
                "chat_id": uuid.UUID(chat_id),
                "client_id": client_id,
                "text": text.strip(),
                "reply_to": None if reply_to is None else uuid.UUID(reply_to),
                "attachment_ids": [],
            }
        except ValueError:
            pass  # the serializer words the error
    return validated(s.MessageSendSerializer, data)


@handles("message:send")
async def message_send(socket: "ClientConsumer", data: dict[str, Any]) -> dict[str, Any]:
    payload = message_send_input(data)
    message_json, duplicate = await services.message_send_async(
        dispatcher=socket.dispatcher, sender=socket.user, origin=socket.channel_name, **payload
    )
    return {"message": message_json, "duplicate": duplicate}


async def _receipt(socket: "ClientConsumer", data: dict[str, Any], *, field: str) -> dict[str, Any]:
    payload = validated(s.ReceiptSerializer, data)
    member = await db_parallel(services.receipt_update)(
        user=socket.user, chat_id=payload["chat_id"], origin=socket.channel_name, **{field: payload["up_to_seq"]}
    )
    return receipt_payload(member)


@handles("message:delivered")
async def message_delivered(socket: "ClientConsumer", data: dict[str, Any]) -> dict[str, Any]:
    return await _receipt(socket, data, field="delivered_up_to")


@handles("message:read")
async def message_read(socket: "ClientConsumer", data: dict[str, Any]) -> dict[str, Any]:
    return await _receipt(socket, data, field="read_up_to")


# --- typing ------------------------------------------------------------------------------------------


class _ChatRef(s.serializers.Serializer):
    chat_id = s.serializers.UUIDField()


def _require_member(socket: "ClientConsumer", chat_id: str) -> None:
    # The dispatcher's membership map moves with the stream: no query per typing frame.
    if not socket.dispatcher.is_member(user_id=socket.user_id, chat_id=chat_id):
        raise NotFound("No such chat.", code=errors.NOT_FOUND)


async def _typing_recipients(socket: "ClientConsumer", chat_id: str) -> list:
    member_ids = await db_parallel(selectors.member_user_ids)(chat_id=chat_id)
    return [user_id for user_id in member_ids if str(user_id) != socket.user_id]


async def _typing_stop(socket: "ClientConsumer", chat_id: str) -> None:
    timer = socket.typing_timers.pop(chat_id, None)
    if timer is None:
        return
    timer.cancel()
    recipients = await _typing_recipients(socket, chat_id)
    await ephemeral_broadcast(
        event_type="typing:stop", data=typing_payload(chat_id=chat_id, user_id=socket.user_id), user_ids=recipients
    )


@handles("typing:start")
async def typing_start(socket: "ClientConsumer", data: dict[str, Any]) -> None:
    chat_id = str(validated(_ChatRef, data)["chat_id"])
    _require_member(socket, chat_id)
    recipients = await _typing_recipients(socket, chat_id)
    already_typing = chat_id in socket.typing_timers
    if already_typing:
        socket.typing_timers[chat_id].cancel()
    # Typing ends by itself unless the client refreshes it within the timeout.
    socket.typing_timers[chat_id] = asyncio.get_running_loop().call_later(
        settings.TYPING_TIMEOUT_SECONDS, lambda: asyncio.ensure_future(_typing_stop(socket, chat_id))
    )
    if not already_typing:
        await ephemeral_broadcast(
            event_type="typing:start",
            data=typing_payload(chat_id=chat_id, user_id=socket.user_id),
            user_ids=recipients,
        )


@handles("typing:stop")
async def typing_stop(socket: "ClientConsumer", data: dict[str, Any]) -> None:
    chat_id = str(validated(_ChatRef, data)["chat_id"])
    _require_member(socket, chat_id)
    await _typing_stop(socket, chat_id)


# --- sync and liveness -------------------------------------------------------------------------------


class _SyncRequest(s.serializers.Serializer):
    cursor = s.serializers.IntegerField(min_value=0)


@handles("sync:request")
async def sync_request(socket: "ClientConsumer", data: dict[str, Any]) -> dict[str, Any]:
    """Replay events after `cursor` up to where this socket's live delivery began."""
    cursor = validated(_SyncRequest, data)["cursor"]
    if cursor >= socket.ready_cursor:
        # Everything after the ready cursor reaches this socket live.
        if cursor > socket.live_cursor:
            raise ApplicationError(
                "This cursor can no longer be served; reload state over REST and use the new cursor.",
                code=errors.CURSOR_EXPIRED,
                details={"cursor": socket.live_cursor},
            )
        events, has_more = [], False
    else:
        page = await db_parallel(selectors.stream_events_for_user)(
            user_id=socket.user_id, after=cursor, up_to=socket.ready_cursor
        )
        events, has_more = page.events, page.has_more
        for event in events:
            await socket.send_frame_raw(event.type, event.payload, cursor=event.id)
        if has_more:
            done = {"cursor": page.cursor, "has_more": True}
            await socket.send_frame("sync:done", done)
            return done
    done = {"cursor": socket.live_cursor, "has_more": False}
    await socket.send_frame("sync:done", done)
    return done


@handles("ping")
async def ping(socket: "ClientConsumer", data: dict[str, Any]) -> None:
    await socket.send_frame("pong", {"server_time": iso_datetime(timezone.now())})


# --- connection lifecycle (called by the consumer) -------------------------------------------------


async def on_connect(socket: "ClientConsumer") -> None:
    await presence_socket_opened(
        user=socket.user, session_id=socket.device_session.pk, channel_name=socket.channel_name
    )


async def on_disconnect(socket: "ClientConsumer") -> None:
    for chat_id in list(socket.typing_timers):
        await _typing_stop(socket, chat_id)
    await presence_socket_closed(user=socket.user, channel_name=socket.channel_name)
