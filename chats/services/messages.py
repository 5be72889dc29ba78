"""Sending, forwarding, editing and deleting messages: the only writers of messages. REST and the
WebSocket call these.

Input rules, for sends and edits alike: the text is trimmed of surrounding whitespace; at most
MESSAGE_MAX_LENGTH characters (text_too_long); a message needs text or files (empty_message).
NUL and lone surrogates never reach here: the serializers refuse them (validation_error).
"""

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import psycopg
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from chats import errors
from chats.events import stream_event_record
from chats.models import (
    Chat,
    ChatMember,
    Message,
    MessageAttachment,
    MessageEdit,
    MessageHidden,
    MessagePin,
    MessageReaction,
)
from chats.payloads import forwarded_from_json, message_deleted_payload, message_payload, pins_payload, system_json
from chats.selectors import (
    MANAGER_ROLES,
    mention_resolve,
    message_get_forwardable,
    message_queryset,
    pinned_message_ids,
)
from chats.send_batch import MessageToSend, message_store, message_store_in_transaction
from chats.services.rules import require_role
from media import errors as media_errors
from media.selectors import attachment_list_for_message
from media.services import attachment_delete_unreferenced
from messenger.errors import ApplicationError
from messenger.realtime import database


@dataclass(frozen=True, slots=True)
class MessageSent:
    message: dict[str, Any]  # the stored message (chats.payloads.message_payload)
    duplicate: bool  # the sender's client_id was used before: `message` is the one stored then


def _checked_text(text: str, *, has_files: bool) -> str:
    text = text.strip()
    if len(text) > settings.MESSAGE_MAX_LENGTH:
        raise errors.text_too_long(max_length=settings.MESSAGE_MAX_LENGTH)
    if not text and not has_files:
        raise errors.empty_message()
    return text


async def message_send(
    *,
    sender: User,
    chat_id: uuid.UUID,
    client_id: str,
    text: str = "",
    reply_to: uuid.UUID | None = None,
    attachment_ids: Sequence[uuid.UUID] = (),
    forward_from: Mapping[str, uuid.UUID] | None = None,
    origin: str = "",
) -> MessageSent:
    """Store a message and publish message:new; REST and the WebSocket both send through here.

    A repeated `client_id` from the same sender returns the stored message and changes nothing
    (idempotent retries across reconnects and server processes). The chat's rules (membership,
    channel roles, blocks, the reply, the attachments being the sender's) are checked by the send
    function in the transaction that stores the message (chats/sql/message_send_batch.sql); this
    checks the input and builds the message's JSON, once, for the function, the delivery and the
    answer (only its seq comes from the database).

    `forward_from` {chat_id, message_id} (instead of text and files) copies a message the sender
    can see, its files shared rather than uploaded again, with `forwarded_from` naming its origin.
    A group or channel text's @mentions are resolved here (only texts with an '@' cost a query).
    """
    forward_of = forwarded_json = mention_ids = None
    if forward_from is not None:
        source = await database(message_get_forwardable)(
            chat_id=forward_from["chat_id"], message_id=forward_from["message_id"], user=sender
        )
        text, forward_of = source.text, source.pk
        attachments = [link.attachment for link in source.attachment_links.all()]
        forwarded_json = forwarded_from_json(source=source, source_chat=source.chat)
    else:
        text = _checked_text(text, has_files=bool(attachment_ids))
        attachments = (
            await database(attachment_list_for_message)(uploader=sender, attachment_ids=attachment_ids)
            if attachment_ids
            else []
        )
        if "@" in text:
            mention_ids = await database(mention_resolve)(chat_id=chat_id, sender_id=sender.pk, text=text)
    draft = Message(
        id=uuid.uuid4(),
        chat_id=chat_id,
        sender=sender,
        client_id=client_id,
        text=text,
        reply_to_id=reply_to,
        mention_ids=mention_ids,
        forwarded_from_json=forwarded_json,
        created_at=timezone.now(),
    )
    draft._prefetched_objects_cache = {
        "attachment_links": [MessageAttachment(attachment=attachment) for attachment in attachments]
    }
    draft.reaction_counts = []
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
        mention_ids=mention_ids,
        forward_of=forward_of,
        forwarded_from_json=forwarded_json,
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
    draft.reaction_counts = []
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
    if status == "forward_not_found":  # deleted (or hidden, or the sender left) since it was read
        return errors.message_not_found()
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


def message_edit(*, user: User, chat: Chat, message: Message, text: str, origin: str = "") -> Message:
    """Change a message's text: its sender, within MESSAGE_EDIT_WINDOW_SECONDS of sending it.

    The previous text is kept (chats.selectors.message_edit_list); the @mentions are resolved again.
    Only a user's own text can be edited (not a forward, not what the server records); files stay.
    An unchanged text changes nothing.
    """
    text = text.strip()
    if len(text) > settings.MESSAGE_MAX_LENGTH:
        raise errors.text_too_long(max_length=settings.MESSAGE_MAX_LENGTH)
    with transaction.atomic():
        require_role(chat_id=chat.pk, user=user, roles=None)
        message = Message.objects.select_for_update(no_key=True).get(pk=message.pk)
        if message.deleted_at is not None:
            raise errors.message_not_found()
        if message.sender_id != user.pk:
            raise errors.forbidden("Only the sender can edit a message.")
        if message.kind != Message.Kind.TEXT or message.forwarded_from_json:
            raise errors.forbidden("Forwarded messages and system messages cannot be edited.")
        window = settings.MESSAGE_EDIT_WINDOW_SECONDS
        now = timezone.now()
        if now - message.created_at > timedelta(seconds=window):
            raise errors.edit_window_expired(seconds=window)
        if not text and not message.attachment_links.exists():
            raise errors.empty_message()
        if text == message.text:
            return message
        MessageEdit.objects.create(
            message=message, text=message.text, written_at=message.edited_at or message.created_at, replaced_at=now
        )
        message.text = text
        message.edited_at = now
        message.mention_ids = mention_resolve(chat_id=chat.pk, sender_id=user.pk, text=text)
        message.save(update_fields=["text", "edited_at", "mention_ids"])
        stream_event_record(type="message:updated", chat_id=chat.pk, payload=message_payload(message), origin=origin)
    return message


def message_delete(
    *, user: User, chat: Chat, message: Message, for_everyone: bool = True, origin: str = ""
) -> dict[str, Any]:
    """Delete a message for everyone, or for `user` alone; returns the message:deleted payload.

    For everyone (its sender, or an owner/admin of a group or channel): the row stays as a tombstone
    keeping its seq, and what it said is erased: its text, edits, reactions, mentions, origin and
    pin, and its files (from storage too, unless another message or an avatar uses them). Every
    member gets message:deleted.

    For me (any member): the message disappears from the user's history, unread counts and search
    (chats.selectors), on every device: message:deleted with for_everyone false reaches only them.

    Deleting what is already gone changes nothing and publishes nothing.
    """
    with transaction.atomic():
        member = require_role(chat_id=chat.pk, user=user, roles=None)
        if not for_everyone:
            # The member row lock serialises the user's deletions in this chat.
            payload = message_deleted_payload(message, by=user, for_everyone=False)
            if not MessageHidden.objects.filter(user=user, message=message).exists():
                MessageHidden.objects.create(user=user, message=message)
                stream_event_record(type="message:deleted", user_id=user.pk, payload=payload, origin=origin)
            return payload
        # FOR UPDATE: a forward of it (which key-share locks its source) waits, or waits for this.
        message = Message.objects.select_for_update().get(pk=message.pk)
        is_manager = chat.type != Chat.Type.DIRECT and member.role in MANAGER_ROLES
        if message.sender_id != user.pk and not is_manager:
            raise errors.forbidden("You cannot delete this message.")
        payload = message_deleted_payload(message, by=user, for_everyone=True)
        if message.deleted_at is not None:
            return payload
        message.deleted_at = timezone.now()
        message.text = ""
        message.system_json = message.forwarded_from_json = message.mention_ids = None
        message.save(update_fields=["deleted_at", "text", "system_json", "forwarded_from_json", "mention_ids"])
        attachment_ids = list(MessageAttachment.objects.filter(message=message).values_list("attachment_id", flat=True))
        MessageAttachment.objects.filter(message=message).delete()
        MessageEdit.objects.filter(message=message).delete()
        MessageReaction.objects.filter(message=message).delete()
        unpinned = MessagePin.objects.filter(message=message).exists()
        if unpinned:
            # The chat's pins change only under its row lock (chats.services.pins: member, message,
            # chat, as here), so the list this event carries is the one at its commit.
            Chat.objects.select_for_update(no_key=True).get(pk=chat.pk)
            MessagePin.objects.filter(message=message).delete()
        attachment_delete_unreferenced(attachment_ids=attachment_ids)
        stream_event_record(type="message:deleted", chat_id=chat.pk, payload=payload, origin=origin)
        if unpinned:
            stream_event_record(
                type="chat:pins_updated",
                chat_id=chat.pk,
                payload=pins_payload(chat_id=chat.pk, pinned_message_ids=pinned_message_ids(chat_id=chat.pk)),
            )
    return payload
