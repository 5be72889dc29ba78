"""Delivery and read receipts: per-member positions in a chat's seq."""

from django.db import transaction

from accounts.models import User
from chats.events import stream_event_record
from chats.models import Chat, ChatMember
from chats.payloads import receipt_payload
from chats.services.rules import require_role


def receipt_update(
    *, user: User, chat_id, delivered_up_to: int | None = None, read_up_to: int | None = None, origin: str = ""
) -> ChatMember:
    """Move the user's delivered/read positions forward (never back, never past the last seq).

    Reading implies delivery. Publishes message:status when something changed: to all members
    of direct chats and groups, and only to the reader's own devices in channels.
    """
    with transaction.atomic():
        member = require_role(chat_id=chat_id, user=user, roles=None)
        last_seq = Chat.objects.filter(pk=chat_id).values_list("last_seq", flat=True).get()
        read = min(max(member.last_read_seq, read_up_to or 0), last_seq)
        delivered = min(max(member.last_delivered_seq, delivered_up_to or 0, read), last_seq)
        if (read, delivered) == (member.last_read_seq, member.last_delivered_seq):
            return member
        member.last_read_seq, member.last_delivered_seq = read, delivered
        member.save(update_fields=["last_read_seq", "last_delivered_seq"])
        is_channel = member.chat.type == Chat.Type.CHANNEL
        stream_event_record(
            type="message:status",
            chat_id=None if is_channel else chat_id,
            user_id=user.pk if is_channel else None,
            payload=receipt_payload(member),
            origin=origin,
        )
    return member
