"""Starting, answering, declining, joining, leaving and ending calls: the only writers of calls.

REST and the socket call these with the acting device session; the deadlines job
(calls.services.deadlines) ends and leaves calls through the same `call_finish` / `participant_leave`.

Locking, the same order in every transaction: the users' rows (call_start of a 1:1 call only, to
serialise the busy check of its two users), then the call's row (every change of a call holds it,
so its transitions are serial), then the chat's row (the call message, appended when a call
ends, through chats.services.message_record), then the stream-order lock (the events, last).
The call message is therefore recorded before the call's own events: the stream-order lock must
never be held while waiting for a chat row, which a send holds while it waits for that lock.
"""

import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from accounts.models import User
from accounts.selectors import block_exists_between
from calls import errors, events
from calls.models import Call, CallInvitee, CallParticipant
from calls.payloads import call_message_system
from calls.selectors import call_queryset
from chats import errors as chat_errors
from chats.models import Chat, ChatMember
from chats.services import message_record
from messenger.errors import NotFound

# What call:end may say about why: the devices could not connect.
END_REASONS_FROM_CLIENTS = (Call.EndReason.FAILED,)


def call_start(*, user: User, session_id, chat_id: uuid.UUID, kind: str, origin: str = "") -> Call:
    """Ring the other member(s) of a direct chat or group; the calling session is the first participant.

    A 1:1 call to a user who is ringing or in another 1:1 call is recorded as ended `busy`, and
    nobody rings.
    """
    now = timezone.now()
    with transaction.atomic():
        chat = Chat.objects.filter(pk=chat_id, deleted_at__isnull=True, members__user=user).first()
        if chat is None:
            raise chat_errors.chat_not_found()
        if chat.type == Chat.Type.CHANNEL:
            raise errors.call_not_allowed()
        # Starts in one chat are serialised (so is the one-ongoing-call check): a 1:1 start locks
        # its two users' rows, which also serialises the busy checks of calls to either of them;
        # a group start locks the group's row.
        if chat.type == Chat.Type.DIRECT:
            peer_id = chat.direct_peer_id(user.pk)
            list(User.objects.select_for_update().filter(pk__in=[user.pk, peer_id]).order_by("pk").values_list("pk"))
            if block_exists_between(user_a_id=user.pk, user_b_id=peer_id):
                raise errors.blocked()
            invitee_ids = [peer_id]
        else:
            list(Chat.objects.select_for_update(no_key=True).filter(pk=chat.pk).values_list("pk"))
            invitee_ids = list(
                ChatMember.objects.filter(chat=chat).exclude(user=user).values_list("user_id", flat=True)
            )
        _refuse_if_ongoing(chat)
        busy = chat.type == Chat.Type.DIRECT and _user_busy(user_id=invitee_ids[0], now=now)
        call = Call.objects.create(
            chat=chat,
            initiator=user,
            initiator_session_id=session_id,
            kind=kind,
            created_at=now,
            ring_deadline=now + timedelta(seconds=settings.CALL_RING_TIMEOUT_SECONDS),
        )
        CallInvitee.objects.bulk_create([CallInvitee(call=call, user_id=invitee_id) for invitee_id in invitee_ids])
        caller = CallParticipant.objects.create(call=call, user=user, session_id=session_id, joined_at=now)
        if busy:
            return call_finish(call=call, reason=Call.EndReason.BUSY, now=now, origin=origin)
        _participants_known(call, [caller])
        events.call_incoming_record(call, origin=origin)
    return call


def call_accept(*, user: User, session_id, call_id: uuid.UUID, origin: str = "") -> Call:
    """Answer a call ringing for the user from this session (answering again from it changes nothing)."""
    return _join(user=user, session_id=session_id, call_id=call_id, origin=origin, accepting=True)


def call_join(*, user: User, session_id, call_id: uuid.UUID, origin: str = "") -> Call:
    """Join a group call (any member, while it is not full), or re-attach a session already in a call."""
    return _join(user=user, session_id=session_id, call_id=call_id, origin=origin, accepting=False)


def call_reject(*, user: User, session_id, call_id: uuid.UUID, origin: str = "") -> Call:
    """Decline: a 1:1 call ends `rejected`; in a group call only this user stops ringing."""
    now = timezone.now()
    with transaction.atomic():
        call = _locked_visible(user=user, call_id=call_id)
        if not _missed_if_overdue(call, now=now):
            if _live_participant(call, user_id=user.pk) is not None:
                raise errors.call_already_joined(call_id=call.pk)
            invitee = CallInvitee.objects.filter(call=call, user=user).first()
            if not call.is_group:
                _respond(invitee, CallInvitee.State.REJECTED, now=now)
                return call_finish(call=call, reason=Call.EndReason.REJECTED, now=now, origin=origin)
            if invitee is not None and invitee.state == CallInvitee.State.RINGING:
                _respond(invitee, CallInvitee.State.REJECTED, now=now)
                events.call_rejected_record(call, user_id=user.pk, origin=origin)
            return call  # in a group call not ringing for them, there is nothing to stop
    raise errors.call_ended(call_id=call_id)


def call_end(*, user: User, session_id, call_id: uuid.UUID, reason: str | None = None, origin: str = "") -> Call:
    """Hang up. A 1:1 call ends for both (`cancelled` by the caller while it rings, `rejected` by
    the callee then, `completed` once answered, `failed` if the device says so); in a group call
    the user's device in it leaves. Ending a call that has ended, or leaving one the user is not
    in, changes nothing."""
    if reason is not None and reason not in END_REASONS_FROM_CLIENTS:
        raise ValueError(f"call_end reason {reason!r}")
    now = timezone.now()
    with transaction.atomic():
        call = _locked_visible(user=user, call_id=call_id)
        if call.state == Call.State.ENDED:
            return call
        if call.is_group:
            # Whichever of the user's devices hangs up, the one in the call leaves.
            participant = _live_participant(call, user_id=user.pk)
            if participant is None:
                return call
            return participant_leave(call=call, participant=participant, now=now, origin=origin)
        if reason is None and call.state == Call.State.RINGING:
            if call.initiator_id == user.pk:
                reason = Call.EndReason.CANCELLED
            else:
                _respond(CallInvitee.objects.filter(call=call, user=user).first(), CallInvitee.State.REJECTED, now=now)
                reason = Call.EndReason.REJECTED
        return call_finish(call=call, reason=reason or Call.EndReason.COMPLETED, now=now, origin=origin)


def call_leave(*, user: User, session_id, call_id: uuid.UUID, reason: str | None = None, origin: str = "") -> Call:
    """Leave a group call from this session (the last one out ends it); on a 1:1 call, call_end."""
    return call_end(user=user, session_id=session_id, call_id=call_id, reason=reason, origin=origin)


# --- the transitions, shared with the deadlines job ------------------------------------------------


def call_finish(*, call: Call, reason: str, now: datetime, origin: str = "") -> Call:
    """End a call whose row the caller has locked: everyone still in it leaves, the chat gets its
    `call` message, and call:ended goes to every device that rang or joined."""
    call.state = Call.State.ENDED
    call.end_reason = reason
    call.ended_at = now
    call.duration_seconds = int((now - call.answered_at).total_seconds()) if call.answered_at else 0
    call.save(update_fields=["state", "end_reason", "ended_at", "duration_seconds"])
    CallParticipant.objects.filter(call=call, left_at__isnull=True).update(left_at=now, reconnect_deadline=None)
    call = _reloaded(call)
    _record_call_message(call)
    events.call_ended_record(call, origin=origin)
    return call


def participant_leave(
    *, call: Call, participant: CallParticipant, now: datetime, disconnected: bool = False, origin: str = ""
) -> Call:
    """A session leaves a call whose row the caller has locked. A 1:1 call ends with it
    (`disconnected` if the session lost its socket); a group call ends when its last participant leaves."""
    if not call.is_group:
        reason = Call.EndReason.DISCONNECTED if disconnected else Call.EndReason.COMPLETED
        return call_finish(call=call, reason=reason, now=now, origin=origin)
    participant.left_at = now
    participant.reconnect_deadline = None
    participant.save(update_fields=["left_at", "reconnect_deadline"])
    if not CallParticipant.objects.filter(call=call, left_at__isnull=True).exists():
        reason = Call.EndReason.COMPLETED if call.answered_at else Call.EndReason.CANCELLED
        return call_finish(call=call, reason=reason, now=now, origin=origin)
    call = _reloaded(call)
    events.call_participant_record(call, participant, joined=False, origin=origin)
    return call


# --- helpers -----------------------------------------------------------------------------------------


def _join(*, user: User, session_id, call_id: uuid.UUID, origin: str, accepting: bool) -> Call:
    now = timezone.now()
    with transaction.atomic():
        call = _locked_visible(user=user, call_id=call_id)
        if not _missed_if_overdue(call, now=now):
            participants = list(CallParticipant.objects.filter(call=call).order_by("joined_at", "id"))
            live = [participant for participant in participants if participant.left_at is None]
            mine = next((participant for participant in live if participant.user_id == user.pk), None)
            if mine is not None:
                if str(mine.session_id) != str(session_id):
                    raise errors.call_already_joined(call_id=call.pk)
                # The same session again: a retry, or a device back after losing its socket.
                if mine.reconnect_deadline is not None:
                    mine.reconnect_deadline = None
                    mine.save(update_fields=["reconnect_deadline"])
                return _participants_known(call, participants)
            if call.is_group and len(live) >= settings.CALL_MAX_PARTICIPANTS:
                raise errors.call_full(max_participants=settings.CALL_MAX_PARTICIPANTS)
            # A 1:1 call is answered by its callee while it rings for them (the caller's other
            # devices are in it already); any member may join a group call, declined or not.
            answering = CallInvitee.objects.filter(call=call, user=user).exclude(state=CallInvitee.State.ACCEPTED)
            if not call.is_group:
                answering = answering.filter(state=CallInvitee.State.RINGING)
            if not answering.update(state=CallInvitee.State.ACCEPTED, responded_at=now) and not call.is_group:
                raise errors.call_already_joined(call_id=call.pk)
            participant = CallParticipant.objects.create(call=call, user=user, session_id=session_id, joined_at=now)
            if call.state == Call.State.RINGING:
                call.state = Call.State.ACTIVE
                call.answered_at = now
                call.save(update_fields=["state", "answered_at"])
            _participants_known(call, [*participants, participant])
            if accepting or not call.is_group:
                events.call_accepted_record(call, participant, origin=origin)
            else:
                events.call_participant_record(call, participant, joined=True, origin=origin)
            return call
    raise errors.call_ended(call_id=call_id)


def _missed_if_overdue(call: Call, *, now: datetime) -> bool:
    """For answering, joining or declining a call whose row is locked: `call_ended` if it ended.

    A call still ringing past its deadline has been missed: it ends here (the deadlines job would
    end it in a moment; the row lock makes it happen once) and True is returned, so that the
    caller lets that commit and then answers `call_ended` too.
    """
    if call.state == Call.State.ENDED:
        raise errors.call_ended(call_id=call.pk)
    if call.state == Call.State.RINGING and call.ring_deadline <= now:
        call_finish(call=call, reason=Call.EndReason.MISSED, now=now)
        return True
    return False


def _locked_visible(*, user: User, call_id: uuid.UUID) -> Call:
    """The call's row, locked, if the user is a member of its chat or took part; else not_found."""
    call = Call.objects.select_for_update(of=("self",)).select_related("chat").filter(pk=call_id).first()
    if call is None:
        raise errors.call_not_found()
    member = ChatMember.objects.filter(chat_id=call.chat_id, user=user, chat__deleted_at__isnull=True).exists()
    if not member and not CallParticipant.objects.filter(call=call, user=user).exists():
        raise errors.call_not_found()
    return call


def _live_participant(call: Call, *, user_id) -> CallParticipant | None:
    return CallParticipant.objects.filter(call=call, user_id=user_id, left_at__isnull=True).first()


def _respond(invitee: CallInvitee | None, state: str, *, now: datetime) -> None:
    if invitee is not None:
        invitee.state = state
        invitee.responded_at = now
        invitee.save(update_fields=["state", "responded_at"])


def _user_busy(*, user_id, now: datetime) -> bool:
    """Ringing for any call, or in a 1:1 call (as caller or callee) that has not ended: one query."""
    ringing = CallInvitee.objects.filter(
        user_id=OuterRef("pk"), state=CallInvitee.State.RINGING, call__ring_deadline__gt=now
    ).exclude(call__state=Call.State.ENDED)
    in_direct_call = CallParticipant.objects.filter(
        user_id=OuterRef("pk"), left_at__isnull=True, call__chat__type=Chat.Type.DIRECT
    ).exclude(call__state=Call.State.ENDED)
    return User.objects.filter(pk=user_id).filter(Q(Exists(ringing)) | Q(Exists(in_direct_call))).exists()


def _refuse_if_ongoing(chat: Chat) -> None:
    ongoing = Call.objects.filter(chat=chat).exclude(state=Call.State.ENDED).values_list("pk", flat=True).first()
    if ongoing is not None:
        raise errors.call_in_progress(call_id=ongoing)


def _reloaded(call: Call) -> Call:
    return call_queryset().get(pk=call.pk)


def _participants_known(call: Call, participants: list[CallParticipant]) -> Call:
    """`call` with its participants (all of them, in joining order) as this transaction wrote
    them: the record is built without reading them back."""
    call._prefetched_objects_cache = {"participants": participants}
    return call


def _record_call_message(call: Call) -> None:
    """The chat's `call` message (kind, reason, duration), counted unread by everyone but the caller."""
    try:
        with transaction.atomic():
            message_record(chat=call.chat, actor=call.initiator, kind="call", system=call_message_system(call))
    except NotFound:
        pass  # the chat was deleted while the call went on: the call still ends
