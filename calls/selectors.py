"""Reads of the calls app. Who may see a call is decided here, once, for REST and the socket.

A call is visible to the members of its chat and to whoever took part in it; to anyone else it
does not exist (`not_found`), so call ids cannot be probed.
"""

import uuid
from datetime import datetime

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet, Subquery

from accounts.models import User
from calls import errors
from calls.models import Call, CallInvitee, CallParticipant
from chats.models import ChatMember
from messenger import realtime


def call_queryset() -> QuerySet[Call]:
    """Calls with what their record shows loaded: the chat and the participants in joining order."""
    return Call.objects.select_related("chat").prefetch_related(
        Prefetch("participants", queryset=CallParticipant.objects.order_by("joined_at", "id"))
    )


def _visible_to(user) -> Q:
    member = ChatMember.objects.filter(chat=OuterRef("chat"), user=user, chat__deleted_at__isnull=True)
    took_part = CallParticipant.objects.filter(call=OuterRef("pk"), user=user)
    return Q(Exists(member)) | Q(Exists(took_part))


def call_get_visible(*, call_id, user) -> Call:
    """The call if `user` may see it (loaded as call_queryset, annotated as the history), else not_found."""
    call = _history(user).filter(pk=call_id).first()
    if call is None:
        raise errors.call_not_found()
    return calls_attach_peers([call], viewer_id=user.pk)[0]


def _history(user) -> QuerySet[Call]:
    mine = CallInvitee.objects.filter(call=OuterRef("pk"), user=user).values("state")[:1]
    return call_queryset().annotate(my_invitee_state=Subquery(mine)).filter(_visible_to(user))


def call_history_for_user(*, user, now: datetime, chat_id: uuid.UUID | None = None, missed: bool | None = None):
    """The calls `user` may see (annotated with `my_invitee_state`), for cursor pagination.

    `missed`: calls the user was rung for and never answered nor declined (calls.payloads.call_missed_by).
    """
    calls = _history(user)
    if chat_id is not None:
        calls = calls.filter(chat_id=chat_id)
    if missed is not None:
        was_missed = Q(my_invitee_state=CallInvitee.State.RINGING) & (
            Q(state=Call.State.ENDED) | Q(ring_deadline__lte=now)
        )
        calls = calls.filter(was_missed) if missed else calls.exclude(was_missed)
    return calls


def calls_attach_peers(calls: list[Call], *, viewer_id) -> list[Call]:
    """Set `peer`, the other user of each 1:1 call, loading them in one query."""
    peer_ids = {call.chat.direct_peer_id(viewer_id) for call in calls} - {None}
    peers = User.objects.in_bulk(peer_ids) if peer_ids else {}
    for call in calls:
        peer_id = call.chat.direct_peer_id(viewer_id)
        call.peer = None if peer_id is None else peers.get(uuid.UUID(peer_id))
    return calls


def calls_ongoing_for_user(*, user_id, now: datetime) -> list[Call]:
    """Calls ringing for the user (not answered, not declined, before the deadline) and calls they
    are in on any device: what `ready` lists, so a device that reconnects can answer or rejoin."""
    ringing = CallInvitee.objects.filter(call=OuterRef("pk"), user_id=user_id, state=CallInvitee.State.RINGING).filter(
        call__ring_deadline__gt=now
    )
    joined = CallParticipant.objects.filter(call=OuterRef("pk"), user_id=user_id, left_at__isnull=True)
    return list(
        call_queryset()
        .exclude(state=Call.State.ENDED)
        .filter(Q(Exists(ringing)) | Q(Exists(joined)))
        .order_by("created_at", "id")
    )


# A signaling frame may go from a live participant session to another live participant session of
# the same call while it has not ended. Checked for every relayed frame, on the event loop's own
# pool (one round trip, no thread hop): the hot path of calls.
_SIGNALING_ROUTE_SQL = (
    f"SELECT 1 FROM {CallParticipant._meta.db_table} s "  # noqa: S608 - table names only
    f"JOIN {CallParticipant._meta.db_table} t ON t.call_id = s.call_id AND t.left_at IS NULL AND t.session_id = %s "
    f"JOIN {Call._meta.db_table} c ON c.id = s.call_id AND c.state <> 'ended' "
    "WHERE s.call_id = %s AND s.session_id = %s AND s.left_at IS NULL AND s.session_id <> t.session_id"
)


async def signaling_route_exists(*, call_id: uuid.UUID, from_session_id: str, to_session_id: uuid.UUID) -> bool:
    """Whether `from_session_id` may signal `to_session_id` in the call (see the SQL's comment).

    Called from socket handlers, so the loop's runtime is running and its pool open.
    """
    runtime = realtime.current()
    assert runtime is not None and runtime.db is not None, "signaling is checked from a socket's handler"
    async with runtime.db.connection() as connection:
        cursor = await connection.execute(_SIGNALING_ROUTE_SQL, [to_session_id, call_id, from_session_id])
        return await cursor.fetchone() is not None
