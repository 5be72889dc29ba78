"""Sending, editing and deleting messages. REST and the WebSocket both call these."""

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.models import User
from accounts.selectors import block_exists_between
from chats import errors
from chats.api.serializers import MessageSerializer
from chats.events import stream_event_record
from chats.models import Chat, ChatMember, Message, MessageAttachment
from chats.services.rules import require_role
from media.selectors import attachment_list_for_message
from messenger.errors import ApplicationError, NotFound


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
    """
    try:
        with transaction.atomic():
            return _message_send(
                sender=sender,
                chat_id=chat_id,
                client_id=client_id,
                text=text,
                reply_to=reply_to,
                attachment_ids=attachment_ids,
                origin=origin,
            )
    except IntegrityError:
        # A concurrent send with the same client_id won the unique constraint; the whole
        # transaction (including the seq increment) rolled back, so no gap was left.
        original = Message.objects.filter(sender=sender, client_id=client_id).first()
        if original is None:
            raise
        return _duplicate(original, chat_id=chat_id, sender=sender), True


def _duplicate(original: Message, *, chat_id, sender: User) -> Message:
    if str(original.chat_id) != str(chat_id):
        raise ApplicationError(
            "This client_id was already used for a message in another chat.", code=errors.CLIENT_ID_REUSED
        )
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
    original = Message.objects.filter(sender=sender, client_id=client_id).first()
    if original is not None:
        return _duplicate(original, chat_id=chat_id, sender=sender), True
    if chat.type == Chat.Type.CHANNEL and member.role == ChatMember.Role.MEMBER:
        raise ApplicationError("Only the owner and admins post in a channel.", code=errors.FORBIDDEN, status=403)
    if chat.type == Chat.Type.DIRECT and block_exists_between(
        user_a_id=sender.pk, user_b_id=chat.direct_peer_id(sender.pk)
    ):
        raise ApplicationError("You cannot message this user.", code=errors.BLOCKED, status=403)
    text = text.strip()
    if not text and not attachment_ids:
        raise ApplicationError("A message needs text or an attachment.", code=errors.EMPTY_MESSAGE)
    if reply_to is not None and not Message.objects.filter(pk=reply_to, chat_id=chat.pk).exists():
        raise ApplicationError("The message replied to is not in this chat.", code=errors.INVALID_REPLY)
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
    stream_event_record(type="message:new", chat_id=chat.pk, payload=MessageSerializer(message).data, origin=origin)
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
        stream_event_record(type="message:updated", chat_id=chat.pk, payload=MessageSerializer(message).data)
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
