"""Reads of the media app, with the access rule for attachments.

Who may fetch an attachment: its uploader; members of a chat where a message carrying it was
sent; members of a chat whose avatar it is; and, for a user's avatar, every authenticated user.
Anyone else gets the same 404 as for an id that does not exist.
"""

import uuid
from collections.abc import Sequence
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet, Sum

from accounts.models import User
from chats.models import Chat, ChatMember
from media import errors
from media.models import Attachment
from messenger.errors import ApplicationError, NotFound


def _as_uuid(value: object) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def attachment_list_visible_to(*, user: User) -> QuerySet[Attachment]:
    """Every attachment `user` may read (see the module docstring)."""
    message_attachments = Attachment.messages.through.objects.filter(
        attachment_id=OuterRef("pk"),
        message__chat__members__user=user,
    )
    user_avatars = User.objects.filter(avatar_id=OuterRef("pk"))
    chat_avatars = Chat.objects.filter(
        avatar_id=OuterRef("pk"),
        pk__in=ChatMember.objects.filter(user=user).values("chat_id"),
    )
    # EXISTS subqueries rather than joins: no duplicate rows, so no DISTINCT needed.
    return Attachment.objects.filter(
        Q(uploader=user) | Exists(message_attachments) | Exists(user_avatars) | Exists(chat_avatars)
    )


def attachment_get_for_user(*, user: User, attachment_id: object) -> Attachment:
    """The attachment if `user` may read it; otherwise 404 `not_found`, as if it did not exist."""
    pk = _as_uuid(attachment_id)
    attachment = attachment_list_visible_to(user=user).filter(pk=pk).first() if pk else None
    if attachment is None:
        raise NotFound("No such attachment.")
    return attachment


def attachment_list_for_message(*, uploader: User, attachment_ids: Sequence[object]) -> list[Attachment]:
    """The caller's own uploads to put on a message, in the order given (repeats dropped).

    Raises `too_many_attachments` past MEDIA_MAX_ATTACHMENTS_PER_MESSAGE and `attachment_not_found`
    (400, listing the bad ids) if any id is not an upload of `uploader`. The send function
    (chats/sql/message_send_batch.sql) checks them again, under a lock, in the transaction that
    attaches them: media_cleanup may delete one in between.
    """
    limit = settings.MEDIA_MAX_ATTACHMENTS_PER_MESSAGE
    wanted: dict[str, uuid.UUID | None] = {}
    for raw_id in attachment_ids:
        wanted.setdefault(str(raw_id), _as_uuid(raw_id))
    if len(wanted) > limit:
        raise ApplicationError(
            f"A message can carry at most {limit} attachments.",
            code=errors.TOO_MANY_ATTACHMENTS,
            details={"max": limit},
        )
    rows = Attachment.objects.filter(uploader=uploader, pk__in=[pk for pk in wanted.values() if pk])
    found = {attachment.pk: attachment for attachment in rows}
    missing = [raw_id for raw_id, pk in wanted.items() if pk not in found]
    if missing:
        raise errors.attachment_not_found(attachment_ids=missing)
    return [found[pk] for pk in wanted.values() if pk]


def attachment_get_avatar_candidate(*, uploader: User, attachment_id: object) -> Attachment:
    """An image uploaded by `uploader`, fit to be a user or chat avatar; else 400 `invalid_avatar`.

    Call it inside the transaction that sets the avatar: the row stays locked until it commits.
    """
    pk = _as_uuid(attachment_id)
    rows = Attachment.objects.filter(pk=pk, uploader=uploader, kind=Attachment.Kind.IMAGE)
    if transaction.get_connection().in_atomic_block:
        rows = rows.select_for_update(no_key=True)  # why: see attachment_list_for_message
    attachment = rows.first() if pk else None
    if attachment is None:
        raise ApplicationError(
            "The avatar must be an image you uploaded.",
            code=errors.INVALID_AVATAR,
            details={"field": "avatar_id"},
        )
    return attachment


def attachment_storage_used(*, uploader: User) -> int:
    """Bytes counted against the uploader's quota."""
    return Attachment.objects.filter(uploader=uploader).aggregate(total=Sum("size"))["total"] or 0


def attachment_list_unreferenced() -> QuerySet[Attachment]:
    """Attachments that no message, user avatar or chat avatar uses.

    References are looked up, not flagged: a flag some caller forgot to set would delete a
    file a message still shows.
    """
    return Attachment.objects.exclude(
        Exists(Attachment.messages.through.objects.filter(attachment_id=OuterRef("pk")))
        | Exists(User.objects.filter(avatar_id=OuterRef("pk")))
        | Exists(Chat.objects.filter(avatar_id=OuterRef("pk")))
    )


def attachment_list_unattached(*, created_before: datetime) -> QuerySet[Attachment]:
    """Uploads older than `created_before` that nothing uses (attachment_list_unreferenced)."""
    return attachment_list_unreferenced().filter(created_at__lt=created_before)
