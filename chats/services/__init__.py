"""Writes of the chats app. Import services from here."""

from chats.services.chats import chat_create, chat_delete, chat_direct_get_or_create, chat_update
from chats.services.members import chat_member_add, chat_member_remove, chat_member_update
from chats.services.messages import message_delete, message_edit, message_send, message_send_async
from chats.services.presence import presence_audience, presence_connect, presence_disconnect
from chats.services.receipts import receipt_payload, receipt_update

__all__ = [
    "chat_create",
    "chat_delete",
    "chat_direct_get_or_create",
    "chat_member_add",
    "chat_member_remove",
    "chat_member_update",
    "chat_update",
    "message_delete",
    "message_edit",
    "message_send",
    "message_send_async",
    "presence_audience",
    "presence_connect",
    "presence_disconnect",
    "receipt_payload",
    "receipt_update",
]
