"""Reads of the chats app. The membership check lives here, once, for REST, WebSocket and services.

A message a user deleted for themselves (MessageHidden) is gone for them everywhere a selector
reads messages for a reader: history, single messages, last messages, unread and mention counts,
pins and mentions; it looks exactly like a message that does not exist.
"""

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from django.conf import settings
from django.db.models import (
    Case,
    Count,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Lower
from django.db.models.lookups import GreaterThanOrEqual
from django.utils import timezone

from accounts.models import Contact
from chats import errors
from chats.models import (
    Chat,
    ChatBan,
    ChatFolder,
    ChatFolderEntry,
    ChatInvite,
    ChatMember,
    Message,
    MessageAttachment,
    MessageEdit,
    MessageHidden,
    MessagePin,
    MessageReaction,
    SocketConnection,
    StreamEvent,
    StreamRetention,
)

MANAGER_ROLES = (ChatMember.Role.OWNER, ChatMember.Role.ADMIN)


def hidden_for(user_id, *, message_ref: str = "pk") -> Exists:
    """Whether the message (`message_ref` of the outer query) was deleted by `user_id` for themselves."""
    return Exists(MessageHidden.objects.filter(user_id=user_id, message_id=OuterRef(message_ref)))


def _unread_messages(user) -> QuerySet[Message]:
    """The messages after the user's read position in the outer chat row that they can see."""
    return (
        Message.objects.filter(chat=OuterRef("pk"), seq__gt=OuterRef("my_last_read_seq"), deleted_at__isnull=True)
        .exclude(hidden_for(user.pk))
        .order_by()
    )


def _count(messages: QuerySet[Message]) -> Coalesce:
    counted = messages.values("chat").annotate(count=Count("pk")).values("count")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def _unread_subquery(user) -> Coalesce:
    # System messages are activity, not something to read; the user's own messages are read.
    return _count(_unread_messages(user).exclude(sender=user).exclude(kind=Message.Kind.SYSTEM))


def _unread_mentions_subquery(user) -> Coalesce:
    return _count(_unread_messages(user).filter(mention_ids__contains=[user.pk]))


# Pinned chats sort above all others by a list position this far ahead of their pin time, so one
# keyset cursor over (list_position, id) pages the whole list, pinned chats first.
PINNED_AHEAD = timedelta(days=1000 * 366)
# Before any message: what "not muted" compares as.
NEVER_MUTED = datetime(1970, 1, 1, tzinfo=UTC)


def _member_settings(user) -> dict[str, Any]:
    """The user's settings of each chat, from the membership row the chat list joins on.

    `my_archived` applies WhatsApp's rule to the stored choice: an archived chat stays archived
    until a message from someone else (not a system message) arrives while it is not muted. Only
    the newest such message since archiving is looked at: messages arrive in seq order, and the
    mute in force since then is the current one (changing settings moves `archived_seq` on).
    """
    newest_from_others = (
        Message.objects.filter(chat=OuterRef("pk"), seq__gt=OuterRef("my_archived_seq"))
        .exclude(sender=user)
        .exclude(kind=Message.Kind.SYSTEM)
        .order_by("-seq")
        .values("created_at")[:1]
    )
    return {
        "my_muted_until": F("members__muted_until"),
        "my_archived_seq": F("members__archived_seq"),
        "my_pinned_at": F("members__pinned_at"),
        # CASE evaluates its branches in order, so the message lookup runs for archived chats only;
        # with no such message the comparison is NULL and the chat stays archived.
        "my_archived": Case(
            When(my_archived_seq__isnull=True, then=Value(False)),
            When(
                GreaterThanOrEqual(Subquery(newest_from_others), Coalesce("my_muted_until", Value(NEVER_MUTED))),
                then=Value(False),
            ),
            default=Value(True),
        ),
        "list_position": Case(
            When(
                my_pinned_at__isnull=False,
                then=ExpressionWrapper(F("my_pinned_at") + Value(PINNED_AHEAD), output_field=DateTimeField()),
            ),
            default=F("last_activity_at"),
        ),
    }


def chat_list_for_user(*, user) -> QuerySet[Chat]:
    """The user's chats with their role, unread and unread-mention counts, last message and settings
    (chat_payload): one query, whatever the number of chats (each count a subquery per row)."""
    mine = ChatMember.objects.filter(chat=OuterRef("pk"), user=user)
    last_message = (
        Message.objects.filter(chat=OuterRef("pk"), deleted_at__isnull=True)
        .exclude(hidden_for(user.pk))
        .order_by("-seq")
    )
    return (
        Chat.objects.filter(members__user=user, deleted_at__isnull=True)
        .annotate(**_member_settings(user))
        .annotate(
            my_role=Subquery(mine.values("role")[:1]),
            my_last_read_seq=Subquery(mine.values("last_read_seq")[:1]),
            my_last_delivered_seq=Subquery(mine.values("last_delivered_seq")[:1]),
            member_count=Subquery(
                ChatMember.objects.filter(chat=OuterRef("pk"))
                .order_by()
                .values("chat")
                .annotate(count=Count("pk"))
                .values("count")
            ),
            last_message_id=Subquery(last_message.values("pk")[:1]),
        )
        .annotate(unread_count=_unread_subquery(user), unread_mentions_count=_unread_mentions_subquery(user))
    )


def chat_list_filtered(*, user, archived: bool = False, folder_id=None, query: str = "") -> QuerySet[Chat]:
    """The user's chat list as GET /api/v1/chats filters it: archived chats or the others, those in
    one of the user's folders (not_found for anyone else's), those whose title or other members'
    names contain `query`."""
    chats = chat_list_for_user(user=user).filter(my_archived=archived)
    if folder_id is not None:
        folder = ChatFolder.objects.filter(pk=folder_id, owner=user).values_list("pk", flat=True).first()
        if folder is None:
            raise errors.folder_not_found()
        chats = chats.filter(folder_entries__folder_id=folder)
    query = query.strip()
    if query:
        # Names count in direct chats and groups; a channel's subscribers are its audience, not
        # who it is, so channels match by title only (and a big channel is not scanned).
        named = (
            ChatMember.objects.filter(chat=OuterRef("pk"))
            .exclude(user=user)
            .filter(Q(user__username__icontains=query) | Q(user__display_name__icontains=query))
        )
        chats = chats.filter(Q(title__icontains=query) | (~Q(type=Chat.Type.CHANNEL) & Exists(named)))
    return chats


def chat_get_for_member(*, chat_id, user) -> Chat:
    """The chat if `user` is a member (annotated like chat_list_for_user), else not_found.

    The annotations (unread count, member count) cost a count over the chat; use
    chat_get_membership_checked where the chat is not rendered.
    """
    chat = chat_list_for_user(user=user).filter(pk=chat_id).first()
    if chat is None:
        raise errors.chat_not_found()
    return chat


def chat_get_membership_checked(*, chat_id, user) -> Chat:
    """The chat if `user` is a member, else not_found: one indexed lookup, no annotations."""
    chat = Chat.objects.filter(pk=chat_id, deleted_at__isnull=True, members__user=user).first()
    if chat is None:
        raise errors.chat_not_found()
    return chat


def chat_get_managed(*, chat_id, user) -> Chat:
    """A group or channel the user owns or administers: not_found if they are not a member,
    not_allowed_for_direct for a direct chat, forbidden for a plain member. No locks (reads)."""
    member = (
        ChatMember.objects.select_related("chat").filter(chat_id=chat_id, user=user, chat__deleted_at__isnull=True)
    ).first()
    if member is None:
        raise errors.chat_not_found()
    if member.chat.type == Chat.Type.DIRECT:
        raise errors.not_allowed_for_direct()
    if member.role not in (ChatMember.Role.OWNER, ChatMember.Role.ADMIN):
        raise errors.forbidden()
    return member.chat


def chats_attach_last_messages(chats: list[Chat], *, user) -> list[Chat]:
    """Load the `last_message` of each chat, as `user` sees it, in one query (for list pages)."""
    ids = [chat.last_message_id for chat in chats if chat.last_message_id]
    messages = messages_attach_reactions(list(message_queryset().filter(pk__in=ids)), viewer_id=user.pk)
    by_id = {message.pk: message for message in messages}
    for chat in chats:
        chat.last_message = by_id.get(chat.last_message_id)
    return chats


def member_list(*, chat: Chat) -> QuerySet[ChatMember]:
    return ChatMember.objects.filter(chat=chat).select_related("user").order_by("joined_at", "pk")


def member_user_ids(*, chat_id) -> list:
    return list(ChatMember.objects.filter(chat_id=chat_id).values_list("user_id", flat=True))


def chat_memberships_of(*, user_id) -> list[tuple[str, int]]:
    """(chat id, joined_event_id) of every live chat the user is in: who the stream delivers to."""
    rows = ChatMember.objects.filter(user_id=user_id, chat__deleted_at__isnull=True).values_list(
        "chat_id", "joined_event_id"
    )
    return [(str(chat_id), joined) for chat_id, joined in rows]


def chat_member_positions(*, chat_id) -> list[tuple[str, int]]:
    """(user id, joined_event_id) of every member of a chat."""
    rows = ChatMember.objects.filter(chat_id=chat_id).values_list("user_id", "joined_event_id")
    return [(str(user_id), joined) for user_id, joined in rows]


def presence_audience(*, user_id) -> list:
    """Users who see this user's presence: everyone sharing a chat, and whoever has them as a contact."""
    shared_chats = ChatMember.objects.filter(user_id=user_id, chat__deleted_at__isnull=True).values("chat_id")
    co_members = ChatMember.objects.filter(chat_id__in=shared_chats).values_list("user_id", flat=True)
    contact_owners = Contact.objects.filter(contact_id=user_id).values_list("owner_id", flat=True)
    audience = set(co_members) | set(contact_owners)
    return [uid for uid in audience if str(uid) != str(user_id)]


def presence_online_peers(*, user_id) -> list[str]:
    """Who among the user's direct-chat peers and contacts is online now (the `ready` snapshot).

    Each of them sees the user's presence.update events too (presence_audience), so the snapshot
    and the events that follow it describe the same people. One query.
    """
    direct_chats = ChatMember.objects.filter(
        user_id=user_id, chat__type=Chat.Type.DIRECT, chat__deleted_at__isnull=True
    ).values("chat_id")
    peers = ChatMember.objects.filter(chat_id__in=direct_chats).exclude(user_id=user_id).values("user_id")
    contacts = Contact.objects.filter(owner_id=user_id).values("contact_id")
    online = (
        SocketConnection.objects.filter(Q(user_id__in=peers) | Q(user_id__in=contacts))
        .order_by("user_id")
        .values_list("user_id", flat=True)
        .distinct()
    )
    return [str(online_id) for online_id in online]


def user_is_online(*, user_id) -> bool:
    """Whether the user has a live socket on any server process."""
    return SocketConnection.objects.filter(user_id=user_id).exists()


@dataclass(frozen=True)
class MemberSettings:
    """A member's settings of a chat as they apply now (chat_payload's `settings`)."""

    chat_id: Any
    muted_until: datetime | None
    archived: bool
    pinned_at: datetime | None


def mute_in_force(muted_until: datetime | None, *, now: datetime | None = None) -> datetime | None:
    """`muted_until` while it lies ahead, else None: a mute that has ended shows as none."""
    if muted_until is None or muted_until <= (now or timezone.now()):
        return None
    return muted_until


def member_settings_get(*, chat_id, user) -> MemberSettings:
    """The user's settings of a chat as the chat list shows them; not_found for a non-member."""
    row = (
        chat_list_for_user(user=user)
        .filter(pk=chat_id)
        .values_list("my_muted_until", "my_archived", "my_pinned_at")
        .first()
    )
    if row is None:
        raise errors.chat_not_found()
    muted_until, archived, pinned_at = row
    return MemberSettings(
        chat_id=chat_id, muted_until=mute_in_force(muted_until), archived=archived, pinned_at=pinned_at
    )


def member_pinned_count(*, user, excluding_chat_id) -> int:
    return (
        ChatMember.objects.filter(user=user, pinned_at__isnull=False, chat__deleted_at__isnull=True)
        .exclude(chat_id=excluding_chat_id)
        .count()
    )


def folder_queryset(*, owner) -> QuerySet[ChatFolder]:
    """The owner's folders in their order, each with the entries of chats the owner is still in
    (a chat they left, or that was deleted, drops out of their folders)."""
    live_entries = ChatFolderEntry.objects.filter(chat__members__user=owner, chat__deleted_at__isnull=True).order_by(
        "position", "pk"
    )
    return (
        ChatFolder.objects.filter(owner=owner)
        .prefetch_related(Prefetch("entries", queryset=live_entries))
        .order_by("position", "created_at", "pk")
    )


def folder_get_for_owner(*, folder_id, owner) -> ChatFolder:
    folder = folder_queryset(owner=owner).filter(pk=folder_id).first()
    if folder is None:
        raise errors.folder_not_found()
    return folder


def member_chat_ids(*, user, chat_ids) -> set[str]:
    """Which of `chat_ids` are live chats the user is a member of."""
    rows = ChatMember.objects.filter(user=user, chat_id__in=list(chat_ids), chat__deleted_at__isnull=True)
    return {str(chat_id) for chat_id in rows.values_list("chat_id", flat=True)}


def invite_list(*, chat: Chat) -> QuerySet[ChatInvite]:
    return ChatInvite.objects.filter(chat=chat).order_by("-created_at", "code")


def invite_require_usable(invite: ChatInvite, *, now: datetime | None = None) -> None:
    """invite_revoked, invite_expired or invite_exhausted, in that order, unless the link works."""
    now = now or timezone.now()
    if invite.revoked_at is not None:
        raise errors.invite_revoked()
    if invite.expires_at is not None and invite.expires_at <= now:
        raise errors.invite_expired()
    if invite.max_uses is not None and invite.uses >= invite.max_uses:
        raise errors.invite_exhausted()


def invite_get_for_preview(*, code: str) -> ChatInvite:
    """A usable invite with its chat and the chat's member count loaded; not_found if the link or
    its chat does not exist, else its invite_* error if it no longer works."""
    invite = (
        ChatInvite.objects.select_related("chat")
        .filter(code=code, chat__deleted_at__isnull=True)
        .annotate(member_count=Count("chat__members"))
        .first()
    )
    if invite is None:
        raise errors.invite_not_found()
    invite_require_usable(invite)
    return invite


def chat_ban_exists(*, chat_id, user_id) -> bool:
    return ChatBan.objects.filter(chat_id=chat_id, user_id=user_id).exists()


def member_exists(*, chat_id, user_id) -> bool:
    return ChatMember.objects.filter(chat_id=chat_id, user_id=user_id).exists()


class ReactionCount(NamedTuple):
    emoji: str
    count: int
    me: bool | None  # whether the reader left it; None when not read for one reader (events)


def reaction_counts(*, message_ids: Sequence, viewer_id=None) -> dict[uuid.UUID, list[ReactionCount]]:
    """Each message's emoji with their counts, in the order of first use, in one query."""
    rows = (
        MessageReaction.objects.filter(message_id__in=list(message_ids))
        .values("message_id", "emoji")
        .annotate(count=Count("id"), first=Min("id"), mine=Count("id", filter=Q(user_id=viewer_id)))
        .order_by("first")
    )
    counts: dict[uuid.UUID, list[ReactionCount]] = {}
    for row in rows:
        me = None if viewer_id is None else row["mine"] > 0
        counts.setdefault(row["message_id"], []).append(ReactionCount(row["emoji"], row["count"], me))
    return counts


def messages_attach_reactions(messages: list[Message], *, viewer_id) -> list[Message]:
    """Load the reactions of `messages` as `viewer_id` sees them (`me`), in one query."""
    counts = reaction_counts(message_ids=[message.pk for message in messages], viewer_id=viewer_id)
    for message in messages:
        message.reaction_counts = counts.get(message.pk, [])
    return messages


def message_queryset() -> QuerySet[Message]:
    return Message.objects.prefetch_related(
        Prefetch("attachment_links", queryset=MessageAttachment.objects.select_related("attachment"))
    )


def messages_attach_files(messages: list[Message]) -> list[Message]:
    """Load the attachments of a page of one chat's messages (ascending seq) with one query.

    The same result as message_queryset()'s prefetch, without Django's prefetch machinery, which
    builds a related manager and a queryset per message (bench/RESULTS.md has what that cost). The
    page's links are selected by its seq range rather than by 50 ids.
    """
    links: dict = {message.pk: [] for message in messages}
    if messages:
        page_links = MessageAttachment.objects.filter(
            message__chat_id=messages[0].chat_id, message__seq__range=(messages[0].seq, messages[-1].seq)
        ).select_related("attachment")
        for link in page_links:
            if link.message_id in links:  # not a message hidden from the reader
                links[link.message_id].append(link)
    for message in messages:
        message._prefetched_objects_cache = {"attachment_links": links[message.pk]}
    return messages


def _page(messages: list[Message], *, user) -> list[Message]:
    return messages_attach_reactions(messages_attach_files(messages), viewer_id=user.pk)


def message_list(
    *, chat: Chat, user, before: int | None = None, after: int | None = None, limit: int = 50
) -> tuple[list[Message], bool]:
    """A page of the messages `user` sees, in ascending seq, and whether more exist in the paging
    direction.

    With `after`, the page starts just after that seq (paging forward); otherwise it ends just
    before `before` (or at the newest message), paging backward through history.
    """
    messages = Message.objects.filter(chat=chat).exclude(hidden_for(user.pk))
    if before is not None:
        messages = messages.filter(seq__lt=before)
    if after is not None:
        page = list(messages.filter(seq__gt=after).order_by("seq")[: limit + 1])
        return _page(page[:limit], user=user), len(page) > limit
    page = list(messages.order_by("-seq")[: limit + 1])
    return _page(page[:limit][::-1], user=user), len(page) > limit


def message_get_in_chat(*, chat: Chat, message_id, user) -> Message:
    """A message of `chat` (whose membership the caller checked) as `user` sees it, else not_found."""
    message = message_queryset().filter(chat=chat, pk=message_id).exclude(hidden_for(user.pk)).first()
    if message is None:
        raise errors.message_not_found()
    return messages_attach_reactions([message], viewer_id=user.pk)[0]


def message_get_for_member(*, message_id, user) -> Message:
    """A message of a live chat `user` is a member of, with its chat, as they see it; else not_found.

    For socket frames, which name the message only.
    """
    message = (
        message_queryset()
        .select_related("chat")
        .filter(pk=message_id, chat__deleted_at__isnull=True, chat__members__user=user)
        .exclude(hidden_for(user.pk))
        .first()
    )
    if message is None:
        raise errors.message_not_found()
    return messages_attach_reactions([message], viewer_id=user.pk)[0]


def message_for_reader(*, message_id, user) -> Message:
    """A message as `user` sees it, without a membership check (answering the change they made)."""
    return messages_attach_reactions([message_queryset().get(pk=message_id)], viewer_id=user.pk)[0]


def message_get_forwardable(*, chat_id, message_id, user) -> Message:
    """A message `user` may forward (one of a chat they are in, not deleted, a user's text), with
    its chat and sender; not_found if they cannot see it."""
    message = (
        message_queryset()
        .select_related("chat", "sender")
        .filter(
            pk=message_id,
            chat_id=chat_id,
            chat__deleted_at__isnull=True,
            chat__members__user=user,
            deleted_at__isnull=True,
        )
        .exclude(hidden_for(user.pk))
        .first()
    )
    if message is None:
        raise errors.message_not_found()
    if message.kind != Message.Kind.TEXT:
        raise errors.not_forwardable()
    return message


def message_edit_list(*, message: Message) -> list[MessageEdit]:
    """The versions of a message's text, oldest first, the current one last; none once deleted."""
    if message.deleted_at is not None:
        return []
    current = MessageEdit(message=message, text=message.text, written_at=message.edited_at or message.created_at)
    return [*MessageEdit.objects.filter(message=message).order_by("written_at", "id"), current]


# --- mentions ----------------------------------------------------------------------------------

# A username (accounts: 3-32 of letters, digits, '_' and '.') after an '@' that does not follow a
# word character (so "a@b.example" mentions nobody); a trailing '.' ends the sentence, not the name.
_MENTION = re.compile(r"(?<![\w.@])@([A-Za-z0-9_.]*[A-Za-z0-9_])")
MENTION_ALL = "all"


def mention_names(text: str) -> list[str]:
    """The lower-cased names the text mentions, each once, in the order they appear."""
    if "@" not in text:
        return []
    names = (match.group(1).lower() for match in _MENTION.finditer(text))
    return list(dict.fromkeys(name for name in names if 3 <= len(name) <= 32))


def mention_resolve(*, chat_id, sender_id, text: str) -> list[uuid.UUID] | None:
    """The members a group or channel text mentions, in the order named (None: nobody).

    `@username` names a member (case-insensitively); `@all` from an owner or admin names every
    member, and from anyone else only a member called "all". The sender never mentions themselves.
    Texts without an '@' cost no query.
    """
    names = mention_names(text)
    if not names:
        return None
    rows = list(
        ChatMember.objects.filter(chat_id=chat_id, chat__deleted_at__isnull=True)
        .annotate(name=Lower("user__username"))
        .filter(Q(user_id=sender_id) | Q(name__in=names))
        .values_list("user_id", "name", "role", "chat__type")
    )
    sender = next((row for row in rows if str(row[0]) == str(sender_id)), None)
    if sender is None or sender[3] == Chat.Type.DIRECT:
        return None
    by_name = {name: user_id for user_id, name, _, _ in rows if str(user_id) != str(sender_id)}
    mentioned = [by_name[name] for name in names if name in by_name]
    if MENTION_ALL in names and sender[2] in MANAGER_ROLES:
        everyone = (
            ChatMember.objects.filter(chat_id=chat_id)
            .exclude(user_id=sender_id)
            .order_by("joined_at", "pk")
            .values_list("user_id", flat=True)
        )
        mentioned += [user_id for user_id in everyone if user_id not in set(mentioned)]
    return list(dict.fromkeys(mentioned)) or None


def mention_list(*, chat: Chat, user, after: int | None = None, limit: int = 50) -> tuple[list[Message], bool]:
    """The messages mentioning `user` that they have not read yet (after their read position and
    `after`), ascending seq, and whether more follow."""
    read = ChatMember.objects.filter(chat=chat, user=user).values_list("last_read_seq", flat=True).first() or 0
    page = list(
        message_queryset()
        .filter(chat=chat, seq__gt=max(read, after or 0), deleted_at__isnull=True, mention_ids__contains=[user.pk])
        .exclude(hidden_for(user.pk))
        .order_by("seq")[: limit + 1]
    )
    return messages_attach_reactions(page[:limit], viewer_id=user.pk), len(page) > limit


# --- pins --------------------------------------------------------------------------------------


def pinned_message_ids(*, chat_id) -> list[uuid.UUID]:
    """The chat's pinned messages, newest pin first."""
    return list(
        MessagePin.objects.filter(chat_id=chat_id).order_by("-pinned_at", "-id").values_list("message_id", flat=True)
    )


def pin_list(*, chat: Chat, user) -> list[MessagePin]:
    """The chat's pins, newest first, with their messages as `user` sees them (hidden ones left out)."""
    pins = list(
        MessagePin.objects.filter(chat=chat)
        .exclude(hidden_for(user.pk, message_ref="message_id"))
        .order_by("-pinned_at", "-id")
    )
    messages = messages_attach_reactions(
        list(message_queryset().filter(pk__in=[pin.message_id for pin in pins])), viewer_id=user.pk
    )
    by_id = {message.pk: message for message in messages}
    for pin in pins:
        pin.message = by_id[pin.message_id]
    return pins


@dataclass(frozen=True)
class StreamPage:
    events: list[StreamEvent]
    cursor: int
    has_more: bool


def stream_position() -> int:
    """The id of the newest committed stream event (0 when there is none)."""
    last = StreamEvent.objects.order_by("-id").values_list("id", flat=True).first()
    return last or 0


def stream_events_for_user(*, user_id, after: int, up_to: int | None = None, limit: int | None = None) -> StreamPage:
    """Events after `after` (up to `up_to`) that concern the user, oldest first.

    An event concerns the user if it names them, or belongs to a chat they are a member of and
    came after they joined. Raises cursor_expired for a cursor older than the retention horizon
    or newer than anything that exists.
    """
    limit = limit or settings.SYNC_MAX_EVENTS
    up_to = stream_position() if up_to is None else up_to
    pruned_through = StreamRetention.objects.values_list("pruned_through_id", flat=True).first() or 0
    if after < pruned_through or after > up_to or after < 0:
        raise errors.cursor_expired(cursor=up_to, status=410)
    joined = dict(ChatMember.objects.filter(user_id=user_id).values_list("chat_id", "joined_event_id"))
    candidates = (
        StreamEvent.objects.filter(id__gt=after, id__lte=up_to)
        .filter(Q(user_id=user_id) | Q(chat_id__in=list(joined)))
        .order_by("id")
    )
    events: list[StreamEvent] = []
    last_seen = after
    has_more = False
    # Fetched in slices because membership filtering happens here, not in SQL.
    for event in candidates.iterator(chunk_size=500):
        if len(events) == limit:
            has_more = True
            break
        last_seen = event.id
        if str(event.user_id) == str(user_id) or (event.chat_id in joined and event.id > joined[event.chat_id]):
            events.append(event)
    cursor = last_seen if has_more else up_to
    return StreamPage(events=events, cursor=cursor, has_more=has_more)
