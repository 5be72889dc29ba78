"""Writes of the chats app. Import services from here."""

from chats.services.chats import chat_create, chat_delete, chat_direct_get_or_create, chat_update
from chats.services.folders import folder_create, folder_delete, folder_reorder, folder_update
from chats.services.invites import invite_create, invite_join, invite_revoke
from chats.services.members import chat_member_add, chat_member_remove, chat_member_update
from chats.services.messages import MessageSent, message_delete, message_edit, message_record, message_send
from chats.services.pins import message_pin, message_unpin
from chats.services.presence import presence_connect, presence_disconnect
from chats.services.reactions import message_react, message_unreact
from chats.services.receipts import receipt_update
from chats.services.settings import chat_settings_update
from chats.services.timeline import timeline_member_joined_by_link
from chats.services.typing import typing_set

__all__ = [
    "MessageSent",
    "chat_create",
    "chat_delete",
    "chat_direct_get_or_create",
    "chat_member_add",
    "chat_member_remove",
    "chat_member_update",
    "chat_settings_update",
    "chat_update",
    "folder_create",
    "folder_delete",
    "folder_reorder",
    "folder_update",
    "invite_create",
    "invite_join",
    "invite_revoke",
    "message_delete",
    "message_edit",
    "message_pin",
    "message_react",
    "message_record",
    "message_send",
    "message_unpin",
    "message_unreact",
    "presence_connect",
    "presence_disconnect",
    "receipt_update",
    "timeline_member_joined_by_link",
    "typing_set",
]
