"""Reads of the chats app. The membership check lives here, once, for REST, WebSocket and services."""

from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from accounts.models import Contact
from chats import errors
from chats.models import Chat, ChatMember, Message, MessageAttachment, StreamEvent, StreamRetention


def _unread_subquery(user) -> Subquery:
    unread = (
        Message.objects.filter(chat=OuterRef("pk"), seq__gt=OuterRef("my_last_read_seq"), deleted_at__isnull=True)
        .exclude(sender=user)
        .order_by()
        .values("chat")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return Coalesce(Subquery(unread, output_field=IntegerField()), Value(0))


def chat_list_for_user(*, user) -> QuerySet[Chat]:
    """The user's chats with their role, unread count and last message, newest activity first."""
    mine = ChatMember.objects.filter(chat=OuterRef("pk"), user=user)
    last_message = Message.objects.filter(chat=OuterRef("pk"), deleted_at__isnull=True).order_by("-seq")
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
        .annotate(unread_count=_unread_subquery(user))
    )


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


def chats_attach_last_messages(chats: list[Chat]) -> list[Chat]:
    """Load the `last_message` of each chat in one query (for list pages)."""
    ids = [chat.last_message_id for chat in chats if chat.last_message_id]
    by_id = {message.pk: message for message in message_queryset().filter(pk__in=ids)}
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
            links[link.message_id].append(link)
    for message in messages:
        message._prefetched_objects_cache = {"attachment_links": links[message.pk]}
    return messages


def message_list(
    *, chat: Chat, before: int | None = None, after: int | None = None, limit: int = 50
) -> tuple[list[Message], bool]:
    """A page of messages in ascending seq, and whether more exist in the paging direction.

    With `after`, the page starts just after that seq (paging forward); otherwise it ends just
    before `before` (or at the newest message), paging backward through history.
    """
    messages = Message.objects.filter(chat=chat)
    if before is not None:
        messages = messages.filter(seq__lt=before)
    if after is not None:
        page = list(messages.filter(seq__gt=after).order_by("seq")[: limit + 1])
        return messages_attach_files(page[:limit]), len(page) > limit
    page = list(messages.order_by("-seq")[: limit + 1])
    return messages_attach_files(page[:limit][::-1]), len(page) > limit


def message_get_in_chat(*, chat: Chat, message_id) -> Message:
    message = message_queryset().filter(chat=chat, pk=message_id).first()
    if message is None:
        raise errors.message_not_found()
    return message


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
