"""Sending, editing and deleting messages. REST and the WebSocket both call these."""

import uuid
from typing import TYPE_CHECKING

import psycopg
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.models import User
from accounts.selectors import block_exists_between
from chats import errors
from chats.api.serializers import message_data
from chats.events import stream_event_record, wake_local_dispatchers
from chats.models import Chat, ChatMember, Message, MessageAttachment
from chats.selectors import message_queryset
from chats.send_batch import BATCH_SQL, MessageToSend, batch_params
from chats.services.rules import require_role
from media.selectors import attachment_list_for_message
from messenger.db import db_parallel
from messenger.errors import ApplicationError, NotFound

if TYPE_CHECKING:
    from chats.stream import StreamDispatcher


def _chat_next_seq(chat: Chat) -> int:
    """Take the chat's next message seq, locking the chat row until commit.

    The increment and the insert share a transaction, so a rollback leaves no gap and
    concurrent senders in one chat queue on the row lock and get consecutive seqs.
    """
    chat_pk = Chat._meta.pk.get_db_prep_value(chat.pk, connection)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Chat._meta.db_table} SET last_seq = last_seq + 1, last_activity_at = %s "  # noqa: S608
            "WHERE id = %s RETURNING last_seq",
            [timezone.now(), chat_pk],
        )
        return cursor.fetchone()[0]


def message_send(
    *,
    sender: User,
    chat_id,
    client_id: str,
    text: str = "",
    reply_to=None,
    attachment_ids=(),
    origin: str = "",
) -> tuple[Message, bool]:
    """Store a message and publish message:new. Returns (message, duplicate).

    A repeated `client_id` from the same sender returns the stored message and changes
    nothing (idempotent retries across reconnects and server processes).

    On PostgreSQL a message without attachments is stored by one statement (the
    chats_message_send_batch function, migration 0005, with a batch of one); otherwise by the ORM.
    Both apply the same rules and raise the same errors.
    """
    text = _checked_text(text, attachment_ids)
    if connection.vendor != "postgresql" or attachment_ids:
        return _message_send_orm(
            sender=sender,
            chat_id=chat_id,
            client_id=client_id,
            text=text,
            reply_to=reply_to,
            attachment_ids=attachment_ids,
            origin=origin,
        )
    draft = _draft(sender=sender, chat_id=chat_id, client_id=client_id, text=text, reply_to=reply_to)
    params = batch_params([_send_fields(draft, origin)], notify_tag="")  # every process reads it
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(BATCH_SQL, params)
            row = cursor.fetchone()
            transaction.on_commit(wake_local_dispatchers)
    except IntegrityError as error:
        return _concurrent_duplicate(error, sender=sender, chat_id=chat_id, client_id=client_id)
    return _send_outcome(row, draft)


async def message_send_async(
    *, dispatcher: "StreamDispatcher", sender: User, origin: str, **fields
) -> tuple[dict, bool]:
    """message_send for the WebSocket, with its arguments; returns the message's `message_data`.

    A second entry point against the one-service rule, on purpose: on PostgreSQL this stores the
    message on the event loop's own pool instead of a thread hop, together with the other sends
    of this process that arrive meanwhile (`dispatcher.sends`, chats.send_batch: one transaction
    per batch), and hands the committed event straight to this process's dispatcher, which then
    delivers it without reading it back. Rules, errors and stored rows are message_send's (the
    same database function); elsewhere, and with attachments, it simply runs message_send.
    The message's JSON is built once, before it is stored, for the function, the delivery and
    the sender's ack alike (only its seq comes from the database).
    """
    if dispatcher.sends is None or fields.get("attachment_ids"):
        message, duplicate = await db_parallel(message_send)(sender=sender, origin=origin, **fields)
        return message_data(message), duplicate
    text = _checked_text(fields.get("text", ""), ())
    draft = _draft(
        sender=sender,
        chat_id=fields["chat_id"],
        client_id=fields["client_id"],
        text=text,
        reply_to=fields.get("reply_to"),
    )
    data = message_data(draft)  # its seq is None until stored
    try:
        row = await dispatcher.sends.send(_send_fields(draft, origin, data=data))
    except psycopg.errors.UniqueViolation as error:
        message, duplicate = await db_parallel(_concurrent_duplicate)(
            error, sender=sender, chat_id=fields["chat_id"], client_id=fields["client_id"]
        )
        return message_data(message), duplicate
    if row[0] == "duplicate":
        message, duplicate = await db_parallel(_send_outcome)(row, draft)
        return message_data(message), duplicate
    message, duplicate = _send_outcome(row, draft)
    data["seq"] = message.seq
    dispatcher.offer_message(event_id=row[2], data=data, origin=origin)  # committed
    return data, duplicate


# --- the PostgreSQL path (one statement) -------------------------------------------------------------

_SEND_ERRORS = {
    "not_found": lambda: NotFound("No such chat."),
    "client_id_reused": lambda: ApplicationError(
        "This client_id was already used for a message in another chat.", code=errors.CLIENT_ID_REUSED
    ),
    "forbidden": lambda: ApplicationError(
        "Only the owner and admins post in a channel.", code=errors.FORBIDDEN, status=403
    ),
    "blocked": lambda: ApplicationError("You cannot message this user.", code=errors.BLOCKED, status=403),
    "invalid_reply": lambda: ApplicationError("The message replied to is not in this chat.", code=errors.INVALID_REPLY),
}


def _checked_text(text: str, attachment_ids) -> str:
    text = text.strip()
    if not text and not attachment_ids:
        raise ApplicationError("A message needs text or an attachment.", code=errors.EMPTY_MESSAGE)
    return text


def _draft(*, sender: User, chat_id, client_id: str, text: str, reply_to) -> Message:
    """The message as it will be stored, before the database gives it its seq."""
    message = Message(
        id=uuid.uuid4(),
        chat_id=chat_id,
        sender=sender,
        client_id=client_id,
        text=text,
        reply_to_id=reply_to,
        created_at=timezone.now(),
    )
    message._prefetched_objects_cache = {"attachment_links": []}
    return message


def _send_fields(draft: Message, origin: str, *, data: dict | None = None) -> MessageToSend:
    """The draft as the send function's arguments; `data` is its message_data if the caller has it."""
    # The function adds the seq.
    payload = {key: value for key, value in (data or message_data(draft)).items() if key != "seq"}
    return MessageToSend(
        draft.pk,
        draft.chat_id,
        draft.sender_id,
        draft.client_id,
        draft.text,
        draft.reply_to_id,
        draft.created_at,
        payload,
        origin,
    )


def _send_outcome(row, draft: Message) -> tuple[Message, bool]:
    status, seq, _event_id, message_id = row
    if status == "ok":
        draft.seq = seq
        return draft, False
    if status == "duplicate":
        return message_queryset().get(pk=message_id), True
    raise _SEND_ERRORS[status]()


def _concurrent_duplicate(error: Exception, *, sender: User, chat_id, client_id: str) -> tuple[Message, bool]:
    """A concurrent send with the same client_id won the unique constraint.

    The whole transaction (including the seq increment) rolled back, so no gap was left.
    Any other constraint failure (`error`) is not ours to explain: it propagates.
    """
    original = message_queryset().filter(sender=sender, client_id=client_id).first()
    if original is None:
        raise error
    return _duplicate(original, chat_id=chat_id, sender=sender), True


# --- the ORM path (SQLite, and messages with attachments) --------------------------------------------


def _message_send_orm(**fields) -> tuple[Message, bool]:
    try:
        with transaction.atomic():
            return _message_send(**fields)
    except IntegrityError as error:
        return _concurrent_duplicate(
            error, sender=fields["sender"], chat_id=fields["chat_id"], client_id=fields["client_id"]
        )


def _duplicate(original: Message, *, chat_id, sender: User) -> Message:
    if str(original.chat_id) != str(chat_id):
        raise _SEND_ERRORS["client_id_reused"]()
    if not ChatMember.objects.filter(chat_id=chat_id, user=sender).exists():
        raise NotFound("No such chat.")
    return original


def _message_send(*, sender, chat_id, client_id, text, reply_to, attachment_ids, origin) -> tuple[Message, bool]:
    member = (
        ChatMember.objects.select_related("chat")
        .filter(chat_id=chat_id, user=sender, chat__deleted_at__isnull=True)
        .first()
    )
    if member is None:
        raise NotFound("No such chat.")
    chat = member.chat
    # Prefetched: the caller may serialise it outside this thread.
    original = message_queryset().filter(sender=sender, client_id=client_id).first()
    if original is not None:
        return _duplicate(original, chat_id=chat_id, sender=sender), True
    if chat.type == Chat.Type.CHANNEL and member.role == ChatMember.Role.MEMBER:
        raise _SEND_ERRORS["forbidden"]()
    if chat.type == Chat.Type.DIRECT and block_exists_between(
        user_a_id=sender.pk, user_b_id=chat.direct_peer_id(sender.pk)
    ):
        raise _SEND_ERRORS["blocked"]()
    if reply_to is not None and not Message.objects.filter(pk=reply_to, chat_id=chat.pk).exists():
        raise _SEND_ERRORS["invalid_reply"]()
    attachments = attachment_list_for_message(uploader=sender, attachment_ids=list(attachment_ids))

    message = Message(
        chat=chat, seq=_chat_next_seq(chat), sender=sender, client_id=client_id, text=text, reply_to_id=reply_to
    )
    message.save(force_insert=True)
    links = MessageAttachment.objects.bulk_create(
        MessageAttachment(message=message, attachment=attachment, position=position)
        for position, attachment in enumerate(attachments)
    )
    # Serialising the new message must not query for the links it was just given.
    message._prefetched_objects_cache = {"attachment_links": links}
    stream_event_record(type="message:new", chat_id=chat.pk, payload=message_data(message), origin=origin)
    return message, False


def message_edit(*, user: User, chat: Chat, message: Message, text: str) -> Message:
    """Change a message's text (its sender only)."""
    with transaction.atomic():
        require_role(chat_id=chat.pk, user=user, roles=None)
        message = Message.objects.select_for_update().get(pk=message.pk)
        if message.sender_id != user.pk:
            raise ApplicationError("Only the sender can edit a message.", code=errors.FORBIDDEN, status=403)
        if message.deleted_at is not None:
            raise NotFound("No such message.")
        text = text.strip()
        if not text and not message.attachments.exists():
            raise ApplicationError("A message needs text or an attachment.", code=errors.EMPTY_MESSAGE)
        message.text = text
        message.edited_at = timezone.now()
        message.save(update_fields=["text", "edited_at"])
        stream_event_record(type="message:updated", chat_id=chat.pk, payload=message_data(message))
    return message


def message_delete(*, user: User, chat: Chat, message: Message) -> None:
    """Delete a message for everyone: its sender, or an owner/admin of a group or channel."""
    with transaction.atomic():
        member = require_role(chat_id=chat.pk, user=user, roles=None)
        message = Message.objects.select_for_update().get(pk=message.pk)
        is_manager = chat.type != Chat.Type.DIRECT and member.role in (ChatMember.Role.OWNER, ChatMember.Role.ADMIN)
        if message.sender_id != user.pk and not is_manager:
            raise ApplicationError("You cannot delete this message.", code=errors.FORBIDDEN, status=403)
        if message.deleted_at is not None:
            return
        message.deleted_at = timezone.now()
        message.text = ""
        message.save(update_fields=["deleted_at", "text"])
        # Its files stop being reachable through this chat; media_cleanup removes orphans.
        message.attachments.clear()
        stream_event_record(
            type="message:deleted",
            chat_id=chat.pk,
            payload={"chat_id": str(chat.pk), "message_id": str(message.pk), "seq": message.seq, "by": str(user.pk)},
        )
