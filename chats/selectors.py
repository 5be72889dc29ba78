"""Reads of the chats app. The membership check lives here, once, for REST, WebSocket and services.

A message a user deleted for themselves (MessageHidden) is gone for them everywhere a selector
reads messages for a reader: history, single messages, last messages, unread and mention counts,
pins and mentions; it looks exactly like a message that does not exist.
"""

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from django.conf import settings
from django.db.models import Count, Exists, IntegerField, Min, OuterRef, Prefetch, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, Lower

from accounts.models import Contact
from chats import errors
from chats.models import (
    Chat,
    ChatMember,
    Message,
    MessageAttachment,
    MessageEdit,
    MessageHidden,
    MessagePin,
    MessageReaction,
    StreamEvent,
    StreamRetention,
)
from messenger.errors import ApplicationError, NotFound

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


def chat_list_for_user(*, user) -> QuerySet[Chat]:
    """The user's chats with their role, unread and unread-mention counts and last message, newest
    activity first: one query, whatever the number of chats (each count a subquery per row)."""
    mine = ChatMember.objects.filter(chat=OuterRef("pk"), user=user)
    last_message = (
        Message.objects.filter(chat=OuterRef("pk"), deleted_at__isnull=True)
        .exclude(hidden_for(user.pk))
        .order_by("-seq")
    )
    return (
        Chat.objects.filter(members__user=user, deleted_at__isnull=True)
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


def chat_get_for_member(*, chat_id, user) -> Chat:
    """The chat if `user` is a member (annotated like chat_list_for_user), else not_found.

    The annotations (unread count, member count) cost a count over the chat; use
    chat_get_membership_checked where the chat is not rendered.
    """
    chat = chat_list_for_user(user=user).filter(pk=chat_id).first()
    if chat is None:
        raise NotFound("No such chat.")
    return chat


def chat_get_membership_checked(*, chat_id, user) -> Chat:
    """The chat if `user` is a member, else not_found: one indexed lookup, no annotations."""
    chat = Chat.objects.filter(pk=chat_id, deleted_at__isnull=True, members__user=user).first()
    if chat is None:
        raise NotFound("No such chat.")
    return chat


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

    The same result as message_queryset()'s prefetch, without Django's prefetch machinery,
    which builds a related manager and a queryset per message and cost more CPU than all the
    rest of a history page. The page is selected by its seq range rather than 50 ids.
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
        raise ApplicationError(
            "This cursor can no longer be served; reload state over REST and use the new cursor.",
            code=errors.CURSOR_EXPIRED,
            status=410,
            details={"cursor": up_to},
        )
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
