"""WebSocket handlers for the chats app's frame types (registered by ChatsConfig.ready).

Each handler gets the socket and the frame's `data`, validates it with the same serializers REST
uses, calls a service, and returns the `ack` data. Services publish the resulting events.
"""

import re
import uuid
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils import timezone

from chats import errors, selectors, services
from chats.api import serializers as s
from chats.payloads import chat_settings_payload, message_payload, receipt_payload
from chats.services.presence import presence_connect, presence_disconnect
from chats.services.typing import typing_set
from messenger import realtime
from messenger.api.formats import iso_datetime
from messenger.db import db_parallel
from messenger.socket_apps import Handler

if TYPE_CHECKING:
    from messenger.consumers import ClientConsumer

HANDLERS: dict[str, Handler] = {}


def handles(event_type: str):
    def register(function: Handler) -> Handler:
        HANDLERS[event_type] = function
        return function

    return register


def validated(serializer_class, data: dict[str, Any]) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    if not serializer.is_valid():
        raise errors.validation_error(details=serializer.errors)
    return serializer.validated_data


# --- messages --------------------------------------------------------------------------------------


_UNUSUAL_CHARACTERS = re.compile("[\x00\ud800-\udfff]")  # refused by DRF's CharField validators


def message_send_input(data: dict[str, Any]) -> dict[str, Any]:
    """MessageSendSerializer's validated data, without building a serializer for a plain frame.

    Building a serializer deep-copies its fields, which costs more than the rest of a send
    (bench/RESULTS.md). A frame of the ordinary shape - string ids, a string text within the
    limit, no attachments, not a forward - is checked here to the same rules; anything else, valid or not, goes
    through the serializer, so the edge cases and every error come from one place;
    chats/tests/test_handlers_message_input.py holds the two to the same answers.
    """
    chat_id, client_id, text = data.get("chat_id"), data.get("client_id"), data.get("text", "")
    reply_to = data.get("reply_to")
    if (
        type(chat_id) is str
        and type(client_id) is str
        and type(text) is str
        and (reply_to is None or type(reply_to) is str)
        and data.get("attachment_ids", []) == []
        and data.get("forward_from") is None
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
                "forward_from": None,
            }
        except ValueError:
            pass  # the serializer words the error
    return validated(s.MessageSendSerializer, data)


@handles("message:send")
async def message_send(socket: "ClientConsumer", data: dict[str, Any]) -> dict[str, Any]:
    sent = await services.message_send(sender=socket.user, origin=socket.channel_name, **message_send_input(data))
    return {"message": sent.message, "duplicate": sent.duplicate}


class _MessageRef(s.serializers.Serializer):
    message_id = s.serializers.UUIDField()


class _MessageEdit(_MessageRef, s.MessageEditSerializer):
    pass


class _MessageDelete(_MessageRef, s.MessageDeleteQuerySerializer):
    pass


class _Reaction(_MessageRef):
    emoji = s.serializers.CharField()


def _as_reader(user, message_id) -> dict[str, Any]:
    return {"message": message_payload(selectors.message_for_reader(message_id=message_id, user=user))}


def _message_edit(socket: "ClientConsumer", message_id, text: str) -> dict[str, Any]:
    message = selectors.message_get_for_member(message_id=message_id, user=socket.user)
    services.message_edit(user=socket.user, chat=message.chat, message=message, text=text, origin=socket.channel_name)
    return _as_reader(socket.user, message.pk)


def _message_delete(socket: "ClientConsumer", message_id, for_everyone: bool) -> dict[str, Any]:
    message = selectors.message_get_for_member(message_id=message_id, user=socket.user)
    return services.message_delete(
        user=socket.user, chat=message.chat, message=message, for_everyone=for_everyone, origin=socket.channel_name
    )


def _reaction_change(socket: "ClientConsumer", message_id, emoji: str, *, service) -> dict[str, Any]:
    message = selectors.message_get_for_member(message_id=message_id, user=socket.user)
    service(user=socket.user, chat=message.chat, message=message, emoji=emoji, origin=socket.channel_name)
    return _as_reader(socket.user, message.pk)


def _pin_change(socket: "ClientConsumer", message_id, *, service) -> dict[str, Any]:
    message = selectors.message_get_for_member(message_id=message_id, user=socket.user)
    return service(user=socket.user, chat=message.chat, message=message, origin=socket.channel_name)


@handles("message:edit")
async def message_edit(socket: "ClientConsumer", data: dict[str, Any]) -> dict[str, Any]:
    return await db_parallel(_message_edit)(socket, **validated(_MessageEdit, data))


@handles("message:delete")
async def message_delete(socket: "ClientConsumer", data: dict[str, Any]) -> dict[str, Any]:
    return await db_parallel(_message_delete)(socket, **validated(_MessageDelete, data))


@handles("message:react")
async def message_react(socket: "ClientConsumer", data: dict[str, Any]) -> dict[str, Any]:
    return await db_parallel(_reaction_change)(socket, **validated(_Reaction, data), service=services.message_react)


@handles("message:unreact")
async def message_unreact(socket: "ClientConsumer", data: dict[str, Any]) -> dict[str, Any]:
    return await db_parallel(_reaction_change)(socket, **validated(_Reaction, data), service=services.message_unreact)


@handles("message:pin")
async def message_pin(socket: "ClientConsumer", data: dict[str, Any]) -> dict[str, Any]:
    return await db_parallel(_pin_change)(socket, **validated(_MessageRef, data), service=services.message_pin)


@handles("message:unpin")
async def message_unpin(socket: "ClientConsumer", data: dict[str, Any]) -> dict[str, Any]:
    return await db_parallel(_pin_change)(socket, **validated(_MessageRef, data), service=services.message_unpin)


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


# --- a member's own settings ---------------------------------------------------------------------


@handles("chat:settings")
async def chat_settings(socket: "ClientConsumer", data: dict[str, Any]) -> dict[str, Any]:
    changes = validated(s.ChatSettingsFrameSerializer, data)
    settings = await db_parallel(services.chat_settings_update)(user=socket.user, origin=socket.channel_name, **changes)
    return chat_settings_payload(settings)


# --- typing ------------------------------------------------------------------------------------------


class _ChatRef(s.serializers.Serializer):
    chat_id = s.serializers.UUIDField()


@handles("typing:start")
async def typing_start(socket: "ClientConsumer", data: dict[str, Any]) -> None:
    chat_id = str(validated(_ChatRef, data)["chat_id"])
    await typing_set(user_id=socket.user_id, chat_id=chat_id, typing=True, origin=socket.channel_name)


@handles("typing:stop")
async def typing_stop(socket: "ClientConsumer", data: dict[str, Any]) -> None:
    chat_id = str(validated(_ChatRef, data)["chat_id"])
    await typing_set(user_id=socket.user_id, chat_id=chat_id, typing=False, origin=socket.channel_name)


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
            raise errors.cursor_expired(cursor=socket.live_cursor)
        events, has_more = [], False
    else:
        page = await db_parallel(selectors.stream_events_for_user)(
            user_id=socket.user_id, after=cursor, up_to=socket.ready_cursor
        )
        events, has_more = page.events, page.has_more
        for event in events:
            await socket.send_frame(event.type, event.payload, cursor=event.id)
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


# --- the socket's life ---------------------------------------------------------------------------


def _presence_open(socket: "ClientConsumer") -> list[str]:
    presence_connect(
        user_id=socket.user.pk,
        session_id=socket.device_session.pk,
        channel_name=socket.channel_name,
        server_id=realtime.SERVER_ID,
    )
    return selectors.presence_online_peers(user_id=socket.user.pk)


async def socket_opened(socket: "ClientConsumer") -> dict[str, Any]:
    """The socket is online (presence); its `ready` carries the cursor of its live delivery and who
    of the user's direct-chat peers and contacts is online.

    The snapshot is read after the socket attached (messenger.consumers), so a presence:update of
    anyone in it that happens later reaches the socket after `ready`.
    """
    online = await db_parallel(_presence_open)(socket)
    return {"cursor": socket.ready_cursor, "online_user_ids": online}


async def socket_closed(socket: "ClientConsumer") -> None:
    await db_parallel(presence_disconnect)(user_id=socket.user.pk, channel_name=socket.channel_name)
