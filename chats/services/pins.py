"""Pinned messages: at most CHAT_MAX_PINS per chat.

Owners and admins pin in groups and channels, either member in a direct chat. Every change
publishes chat:pins_updated with the chat's pins, newest first; a pin also records the system
message `message_pinned` (chats.services.timeline). Deleting a message for everyone unpins it
(chats.services.messages).

Lock order: the member, the message, the chat row (which serialises a chat's pins), the stream.
"""

from typing import Any

from django.db import transaction

from accounts.models import User
from chats import errors
from chats.events import stream_event_record
from chats.models import Chat, ChatMember, Message, MessagePin
from chats.payloads import pins_payload
from chats.selectors import MANAGER_ROLES, pinned_message_ids
from chats.services.rules import require_role
from chats.services.timeline import MESSAGE_PINNED, timeline_chat_lock, timeline_record

CHAT_MAX_PINS = 100


def _require_pinner(*, chat: Chat, user: User) -> ChatMember:
    member = require_role(chat_id=chat.pk, user=user, roles=None)
    if chat.type != Chat.Type.DIRECT and member.role not in MANAGER_ROLES:
        raise errors.forbidden("Only the owner and admins pin messages here.")
    return member


def _pins_record(*, chat: Chat, origin: str) -> dict[str, Any]:
    payload = pins_payload(chat_id=chat.pk, pinned_message_ids=pinned_message_ids(chat_id=chat.pk))
    stream_event_record(type="chat:pins_updated", chat_id=chat.pk, payload=payload, origin=origin)
    return payload


def message_pin(*, user: User, chat: Chat, message: Message, origin: str = "") -> dict[str, Any]:
    """Pin a message of the chat; returns the chat's pins (already pinned: nothing changes)."""
    with transaction.atomic():
        _require_pinner(chat=chat, user=user)
        # Locked: a deletion for everyone (which unpins) waits for this, or this sees it deleted.
        message = (
            Message.objects.select_for_update(no_key=True)
            .filter(pk=message.pk, chat_id=chat.pk, deleted_at__isnull=True)
            .first()
        )
        if message is None:
            raise errors.message_not_found()
        # Then the chat row: it serialises the chat's pins (the limit, the list each event
        # carries) and comes before the stream.
        timeline_chat_lock(chat_id=chat.pk)
        if MessagePin.objects.filter(message=message).exists():
            return pins_payload(chat_id=chat.pk, pinned_message_ids=pinned_message_ids(chat_id=chat.pk))
        if MessagePin.objects.filter(chat_id=chat.pk).count() >= CHAT_MAX_PINS:
            raise errors.too_many_pins(max_count=CHAT_MAX_PINS)
        MessagePin.objects.create(chat_id=chat.pk, message=message, pinned_by=user)
        timeline_record(chat=chat, actor=user, event=MESSAGE_PINNED, message_id=str(message.pk))
        return _pins_record(chat=chat, origin=origin)


def message_unpin(*, user: User, chat: Chat, message: Message, origin: str = "") -> dict[str, Any]:
    """Unpin a message; returns the chat's pins (not pinned: nothing changes)."""
    with transaction.atomic():
        _require_pinner(chat=chat, user=user)
        timeline_chat_lock(chat_id=chat.pk)
        deleted, _ = MessagePin.objects.filter(chat_id=chat.pk, message_id=message.pk).delete()
        if not deleted:
            return pins_payload(chat_id=chat.pk, pinned_message_ids=pinned_message_ids(chat_id=chat.pk))
        return _pins_record(chat=chat, origin=origin)
