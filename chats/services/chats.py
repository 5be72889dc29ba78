"""Creating, editing and deleting chats."""

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import selectors as account_selectors
from accounts.models import User
from chats import errors
from chats.events import stream_event_record
from chats.models import Chat, ChatMember
from chats.payloads import chat_deleted_payload, chat_event_payload
from chats.services.rules import require_manager, require_role
from chats.services.timeline import AVATAR_CHANGED, TITLE_CHANGED, timeline_chat_lock, timeline_record
from media.selectors import attachment_get_avatar_candidate


def _direct_key(first_id, second_id) -> str:
    return ":".join(sorted([str(first_id), str(second_id)]))


def _chat_created_record(chat: Chat, *, actor: User) -> None:
    stream_event_record(
        type="chat:created",
        chat_id=chat.pk,
        payload=chat_event_payload(chat, by=actor),
    )


def chat_direct_get_or_create(*, user: User, other_user_id) -> tuple[Chat, bool]:
    """The direct chat between two users, created on first use. Returns (chat, created)."""
    if str(other_user_id) == str(user.pk):
        raise errors.cannot_message_self()
    other = account_selectors.user_get(user_id=other_user_id)
    if account_selectors.block_exists_between(user_a_id=user.pk, user_b_id=other.pk):
        raise errors.blocked()
    key = _direct_key(user.pk, other.pk)
    existing = Chat.objects.filter(direct_key=key, deleted_at__isnull=True).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            chat = Chat.objects.create(type=Chat.Type.DIRECT, direct_key=key, created_by=user)
            ChatMember.objects.bulk_create([ChatMember(chat=chat, user=user), ChatMember(chat=chat, user=other)])
            _chat_created_record(chat, actor=user)
    except IntegrityError:
        # A concurrent request created the same pair first: answer with that chat.
        return Chat.objects.get(direct_key=key), False
    return chat, True


def chat_create(*, creator: User, type: str, title: str, description: str = "", member_ids=()) -> Chat:
    """Create a group or channel owned by `creator`, with the given members."""
    wanted = {str(member_id) for member_id in member_ids} - {str(creator.pk)}
    users = list(User.objects.filter(pk__in=wanted, is_active=True))
    if len(users) != len(wanted):
        missing = sorted(wanted - {str(u.pk) for u in users})
        raise errors.users_not_found(user_ids=missing)
    with transaction.atomic():
        chat = Chat.objects.create(type=type, title=title, description=description, created_by=creator)
        ChatMember.objects.bulk_create(
            [ChatMember(chat=chat, user=creator, role=ChatMember.Role.OWNER)]
            + [ChatMember(chat=chat, user=user) for user in users]
        )
        _chat_created_record(chat, actor=creator)
    return chat


_UNSET = object()


def chat_update(
    *, chat: Chat, actor: User, title: str | None = None, description: str | None = None, avatar_id=_UNSET
) -> Chat:
    """Edit title, description or avatar (owner and admins of groups and channels).

    A new title or avatar is recorded in the timeline (chats.services.timeline).
    """
    with transaction.atomic():
        require_manager(chat_id=chat.pk, user=actor, roles=(ChatMember.Role.OWNER, ChatMember.Role.ADMIN))
        before = timeline_chat_lock(chat_id=chat.pk)
        changes = {"title": title, "description": description}
        fields = [field for field, value in changes.items() if value is not None]
        for field in fields:
            setattr(chat, field, changes[field])
        if avatar_id is not _UNSET:
            chat.avatar = (
                None if avatar_id is None else attachment_get_avatar_candidate(uploader=actor, attachment_id=avatar_id)
            )
            fields.append("avatar")
        if fields:
            chat.save(update_fields=[*fields, "updated_at"])
            stream_event_record(
                type="chat:updated",
                chat_id=chat.pk,
                payload=chat_event_payload(chat, by=actor),
            )
            if "title" in fields and chat.title != before.title:
                timeline_record(chat=chat, actor=actor, event=TITLE_CHANGED, title=chat.title)
            if "avatar" in fields and chat.avatar_id != before.avatar_id:
                avatar_id = None if chat.avatar_id is None else str(chat.avatar_id)
                timeline_record(chat=chat, actor=actor, event=AVATAR_CHANGED, avatar_id=avatar_id)
    return chat


def chat_delete(*, chat: Chat, actor: User) -> None:
    """Delete a chat for everyone: the owner of a group/channel, or either side of a direct chat."""
    with transaction.atomic():
        member = require_role(chat_id=chat.pk, user=actor, roles=None)
        if chat.type != Chat.Type.DIRECT and member.role != ChatMember.Role.OWNER:
            raise errors.forbidden("Only the owner can delete this chat.")
        chat_mark_deleted(chat)
        chat_deleted_record(chat, actor=actor)


def chat_mark_deleted(chat: Chat) -> None:
    """Soft-delete: rows stay so the chat:deleted event still reaches every member via the stream."""
    Chat.objects.filter(pk=chat.pk).update(deleted_at=timezone.now(), direct_key=None)


def chat_deleted_record(chat: Chat, *, actor: User) -> None:
    stream_event_record(type="chat:deleted", chat_id=chat.pk, payload=chat_deleted_payload(chat, by=actor))
