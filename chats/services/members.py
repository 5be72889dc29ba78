"""Membership: adding, removing (and leaving), and role changes in groups and channels.

Rules: owners and admins add members; the owner changes roles (and can hand over ownership);
admins remove plain members, the owner removes anyone; everyone may leave. When the owner
leaves, the longest-serving admin (else member) becomes owner; a chat nobody is left in is
deleted. A member removed by someone else is banned from rejoining by invite link until an
owner or admin adds them back (chats.models.ChatBan). Direct chats have exactly two members and
none of this applies.

Additions, removals and departures are recorded in the timeline as system messages
(chats.services.timeline), so these lock the chat row after the member rows, before the stream.
"""

from django.db import transaction
from django.db.models import Case, Value, When

from accounts.models import User
from chats import errors
from chats.events import stream_event_record
from chats.models import Chat, ChatBan, ChatMember
from chats.payloads import member_event_payload, member_removed_payload
from chats.services.chats import chat_deleted_record, chat_mark_deleted
from chats.services.rules import require_manager
from chats.services.timeline import MEMBER_ADDED, MEMBER_LEFT, MEMBER_REMOVED, timeline_chat_lock, timeline_record

MANAGERS = (ChatMember.Role.OWNER, ChatMember.Role.ADMIN)


def chat_member_add(*, chat: Chat, actor: User, user_ids) -> list[ChatMember]:
    """Add users to a group or channel; users already in it are skipped."""
    with transaction.atomic():
        require_manager(chat_id=chat.pk, user=actor, roles=MANAGERS)
        wanted = {str(user_id) for user_id in user_ids}
        users = list(User.objects.filter(pk__in=wanted, is_active=True))
        if len(users) != len(wanted):
            missing = sorted(wanted - {str(u.pk) for u in users})
            raise errors.users_not_found(user_ids=missing)
        present = set(ChatMember.objects.filter(chat=chat, user__in=users).values_list("user_id", flat=True))
        newcomers = [user for user in users if user.pk not in present]
        # Being added back by an owner or admin lifts a ban.
        ChatBan.objects.filter(chat=chat, user__in=newcomers).delete()
        timeline_chat_lock(chat_id=chat.pk)
        added = members_insert(chat=chat, users=newcomers, actor=actor)
        if added:
            timeline_record(
                chat=chat, actor=actor, event=MEMBER_ADDED, target_ids=[str(member.user_id) for member in added]
            )
    return added


def members_insert(*, chat: Chat, users: list[User], actor: User) -> list[ChatMember]:
    """Make `users` (none of them a member) members, recording chat:member_added for each.

    Runs in the caller's transaction, which has checked the rules (adding, or joining by invite)
    and locked the chat row (chats.services.timeline.timeline_chat_lock); the events are its last
    writes but for the caller's own.
    """
    # Rejoining members start with everything before now read: old messages are not "unread".
    last_seq = Chat.objects.filter(pk=chat.pk).values_list("last_seq", flat=True).get()
    added = ChatMember.objects.bulk_create(
        [ChatMember(chat=chat, user=user, last_read_seq=last_seq, last_delivered_seq=last_seq) for user in users]
    )
    for member in added:
        event = stream_event_record(
            type="chat:member_added",
            chat_id=chat.pk,
            user_id=member.user_id,
            payload=member_event_payload(member, by=actor),
        )
        # Stream events of this chat concern the new member from this one on.
        ChatMember.objects.filter(pk=member.pk).update(joined_event_id=event.id - 1)
    return added


def chat_member_update(*, chat: Chat, actor: User, user_id, role: str) -> ChatMember:
    """Change a member's role (owner only). Making someone owner hands ownership over."""
    with transaction.atomic():
        acting = require_manager(chat_id=chat.pk, user=actor, roles=(ChatMember.Role.OWNER,))
        if str(user_id) == str(actor.pk):
            raise errors.forbidden("You cannot change your own role.")
        target = ChatMember.objects.select_for_update().select_related("user").filter(chat=chat, user_id=user_id)
        target = target.first()
        if target is None:
            raise errors.member_not_found()
        target.role = role
        target.save(update_fields=["role"])
        if role == ChatMember.Role.OWNER:
            acting.role = ChatMember.Role.ADMIN
            acting.save(update_fields=["role"])
            _record_role_change(acting, actor=actor)
        _record_role_change(target, actor=actor)
    return target


def _record_role_change(member: ChatMember, *, actor: User) -> None:
    stream_event_record(
        type="chat:member_updated", chat_id=member.chat_id, payload=member_event_payload(member, by=actor)
    )


def chat_member_remove(*, chat: Chat, actor: User, user_id) -> None:
    """Remove a member, or leave when `user_id` is the actor."""
    leaving = str(user_id) == str(actor.pk)
    with transaction.atomic():
        acting = require_manager(chat_id=chat.pk, user=actor, roles=ChatMember.Role.values if leaving else MANAGERS)
        target = (
            acting if leaving else ChatMember.objects.select_for_update().filter(chat=chat, user_id=user_id).first()
        )
        if target is None:
            raise errors.member_not_found()
        if not leaving and (
            target.role == ChatMember.Role.OWNER
            or (acting.role == ChatMember.Role.ADMIN and target.role == ChatMember.Role.ADMIN)
        ):
            raise errors.forbidden("Your role does not allow removing this member.")
        target.delete()
        if not leaving:
            ChatBan.objects.get_or_create(chat=chat, user_id=user_id, defaults={"banned_by": actor})
        heir = _owner_succession(chat) if target.role == ChatMember.Role.OWNER else None
        # Whatever the leaver's role: a group whose owner's account is gone still ends with its last member.
        nobody_left = heir is None and not ChatMember.objects.filter(chat=chat).exists()
        if nobody_left:
            chat_mark_deleted(chat)
        else:
            timeline_chat_lock(chat_id=chat.pk)
        # Events go last: recording one takes the stream-order lock, which must not be held
        # while waiting for row locks (see chats.events.stream_event_record).
        stream_event_record(
            type="chat:member_removed",
            chat_id=chat.pk,
            user_id=user_id,  # the removed user is no longer a member but must hear of it
            payload=member_removed_payload(chat=chat, user_id=user_id, by=actor),
        )
        if heir is not None:
            _record_role_change(heir, actor=actor)
        if nobody_left:
            chat_deleted_record(chat, actor=actor)
        else:
            timeline_record(
                chat=chat, actor=actor, event=MEMBER_LEFT if leaving else MEMBER_REMOVED, target_ids=[str(user_id)]
            )


def _owner_succession(chat: Chat) -> ChatMember | None:
    """Promote the longest-serving admin, else the longest-serving member; None if nobody is left."""
    admins_first = Case(When(role=ChatMember.Role.ADMIN, then=Value(0)), default=Value(1))
    heir = ChatMember.objects.select_for_update().filter(chat=chat).order_by(admins_first, "joined_at", "pk").first()
    if heir is None:
        return None
    heir.role = ChatMember.Role.OWNER
    heir.save(update_fields=["role"])
    return heir
