"""Sending, editing and deleting messages: the only writers of messages. REST and the WebSocket call these."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from chats import errors
from chats.events import stream_event_record
from chats.models import Chat, ChatMember, Message, MessageAttachment
from chats.payloads import message_deleted_payload, message_payload, system_json
from chats.selectors import message_queryset
from chats.send_batch import MessageToSend, message_store, message_store_in_transaction
from chats.services.rules import require_role
from media import errors as media_errors
from media.selectors import attachment_list_for_message
from messenger.errors import ApplicationError
from messenger.realtime import database


@dataclass(frozen=True, slots=True)
class MessageSent:
    message: dict[str, Any]  # the stored message (chats.payloads.message_payload)
    duplicate: bool  # the sender's client_id was used before: `message` is the one stored then


async def message_send(
    *,
    sender: User,
    chat_id: uuid.UUID,
    client_id: str,
    text: str = "",
    reply_to: uuid.UUID | None = None,
    attachment_ids: Sequence[uuid.UUID] = (),
    origin: str = "",
) -> MessageSent:
    """Store a message and publish message:new; REST and the WebSocket both send through here.

    A repeated `client_id` from the same sender returns the stored message and changes nothing
    (idempotent retries across reconnects and server processes). The chat's rules (membership,
    channel roles, blocks, the reply, the attachments being the sender's) are checked by the send
    function in the transaction that stores the message (chats/sql/message_send_batch.sql); this
    checks the input and builds the message's JSON, once, for the function, the delivery and the
    answer (only its seq comes from the database).
    """
    text = text.strip()
    if not text and not attachment_ids:
        raise errors.empty_message()
    attachments = (
        await database(attachment_list_for_message)(uploader=sender, attachment_ids=attachment_ids)
        if attachment_ids
        else []
    )
    draft = Message(
        id=uuid.uuid4(),
        chat_id=chat_id,
        sender=sender,
        client_id=client_id,
        text=text,
        reply_to_id=reply_to,
        created_at=timezone.now(),
    )
    draft._prefetched_objects_cache = {
        "attachment_links": [MessageAttachment(attachment=attachment) for attachment in attachments]
    }
    payload = message_payload(draft)  # its seq is None until stored
    to_send = MessageToSend(
        draft.pk,
        draft.chat_id,
        draft.sender_id,
        client_id,
        text,
        reply_to,
        draft.created_at,
        {key: value for key, value in payload.items() if key != "seq"},
        origin,
        [attachment.pk for attachment in attachments],
    )
    try:
        status, seq, _event_id, message_id = await message_store(to_send)
    except psycopg.errors.UniqueViolation as error:
        # A concurrent send with the same client_id won the unique constraint. The whole
        # transaction (the seq increment included) rolled back, so no gap was left.
        original = await database(_concurrent_duplicate)(error, sender=sender, chat_id=chat_id, client_id=client_id)
        return MessageSent(original, True)
    if status == "ok":
        payload["seq"] = seq
        return MessageSent(payload, False)
    if status == "duplicate":
        return MessageSent(await database(_stored_payload)(message_id=message_id), True)
    raise _send_error(status, attachment_ids=to_send.attachment_ids)


def message_record(*, chat: Chat, actor: User | None, kind: str, system: dict[str, Any]) -> dict[str, Any]:
    """Record an event in a chat's timeline as a message of `kind` system or call; returns its payload.

    Runs in the caller's transaction, as its last write (it appends to the stream): the caller has
    checked the rules of what it records. The message has a seq like any other and is published
    as message:new.
    """
    if kind == Message.Kind.TEXT:
        raise ValueError("message_record records system and call messages; users send text")
    draft = Message(
        id=uuid.uuid4(),
        chat_id=chat.pk,
        sender=actor,
        client_id=f"{kind}:{uuid.uuid4().hex}",
        kind=kind,
        system_json=system_json(system),
        created_at=timezone.now(),
    )
    draft._prefetched_objects_cache = {"attachment_links": []}
    payload = message_payload(draft)
    to_send = MessageToSend(
        draft.pk,
        chat.pk,
        None if actor is None else actor.pk,
        draft.client_id,
        "",
        None,
        draft.created_at,
        {key: value for key, value in payload.items() if key != "seq"},
        "",
        [],
        kind=kind,
        system_json=draft.system_json,
    )
    status, seq, _, _ = message_store_in_transaction(to_send)
    if status != "ok":
        raise _send_error(status, attachment_ids=[])
    payload["seq"] = seq
    return payload


def _send_error(status: str, *, attachment_ids: Sequence[uuid.UUID]) -> ApplicationError:
    if status == "not_found":
        return errors.chat_not_found()
    if status == "client_id_reused":
        return errors.client_id_reused()
    if status == "forbidden":
        return errors.forbidden("Only the owner and admins post in a channel.")
    if status == "blocked":
        return errors.blocked()
    if status == "invalid_reply":
        return errors.invalid_reply()
    if status == "attachment_not_found":
        return media_errors.attachment_not_found(attachment_ids=list(attachment_ids))
    raise ValueError(f"unknown send status {status!r}")


def _stored_payload(*, message_id: uuid.UUID) -> dict[str, Any]:
    return message_payload(message_queryset().get(pk=message_id))


def _concurrent_duplicate(error: Exception, *, sender: User, chat_id: uuid.UUID, client_id: str) -> dict[str, Any]:
    """The message that won: the answer a retry would get. Any other constraint failure propagates."""
    original = message_queryset().filter(sender=sender, client_id=client_id).first()
    if original is None:
        raise error
    if str(original.chat_id) != str(chat_id):
        raise errors.client_id_reused()
    if not ChatMember.objects.filter(chat_id=chat_id, user=sender).exists():
        raise errors.chat_not_found()
    return message_payload(original)


def message_edit(*, user: User, chat: Chat, message: Message, text: str) -> Message:
    """Change a message's text (its sender only)."""
    with transaction.atomic():
        require_role(chat_id=chat.pk, user=user, roles=None)
        message = Message.objects.select_for_update().get(pk=message.pk)
        if message.sender_id != user.pk:
            raise errors.forbidden("Only the sender can edit a message.")
        if message.deleted_at is not None:
            raise errors.message_not_found()
        text = text.strip()
        if not text and not message.attachments.exists():
            raise errors.empty_message()
        message.text = text
        message.edited_at = timezone.now()
        message.save(update_fields=["text", "edited_at"])
        stream_event_record(type="message:updated", chat_id=chat.pk, payload=message_payload(message))
    return message


def message_delete(*, user: User, chat: Chat, message: Message) -> None:
    """Delete a message for everyone: its sender, or an owner/admin of a group or channel."""
    with transaction.atomic():
        member = require_role(chat_id=chat.pk, user=user, roles=None)
        message = Message.objects.select_for_update().get(pk=message.pk)
        is_manager = chat.type != Chat.Type.DIRECT and member.role in (ChatMember.Role.OWNER, ChatMember.Role.ADMIN)
        if message.sender_id != user.pk and not is_manager:
            raise errors.forbidden("You cannot delete this message.")
        if message.deleted_at is not None:
            return
        message.deleted_at = timezone.now()
        message.text = ""
        message.save(update_fields=["deleted_at", "text"])
        # Its files stop being reachable through this chat; media_cleanup removes orphans.
        message.attachments.clear()
        stream_event_record(type="message:deleted", chat_id=chat.pk, payload=message_deleted_payload(message, by=user))
