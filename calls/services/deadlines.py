"""The deadlines of calls, fired by whichever server process finds them first, exactly once.

Both deadlines live in the database, so they fire even when the process that started the call (or
held the device's socket) is gone: every process with sockets runs `call_deadlines_fire` every
CALL_DEADLINE_INTERVAL_SECONDS (registered by CallsConfig.ready). Each transition locks its call's
row with SKIP LOCKED and checks the state again under the lock, so a deadline that two processes
see at once fires in one of them; one call per transaction, so that no transaction holds the
stream-order lock while it waits for another call's chat row.

* Ring deadline: a call nobody answered by `ring_deadline` ends `missed`.
* Reconnect grace: a participant of an answered call whose device session has no live socket
  (chats.models.SocketConnection: the socket closed, or its process died and was reaped) gets a
  `reconnect_deadline` CALL_RECONNECT_GRACE_SECONDS ahead; a socket of that session coming back
  clears it, and once it passes the session leaves the call (a 1:1 call ends `disconnected`).
  While a call rings, only its ring deadline counts.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from calls.models import Call, CallParticipant
from calls.services.calls import call_finish, participant_leave
from chats.models import SocketConnection

# Transitions per round and kind; whatever is left waits for the next round.
MAX_PER_ROUND = 200


def call_deadlines_fire(*, now: datetime | None = None) -> int:
    """Fire the deadlines that have passed; returns how many calls changed."""
    now = now or timezone.now()
    changed = 0
    for _ in range(MAX_PER_ROUND):
        if not _end_next_missed(now):
            break
        changed += 1
    _mark_sessions_without_socket(now)
    for _ in range(MAX_PER_ROUND):
        if not _leave_next_disconnected(now):
            break
        changed += 1
    return changed


def _has_socket():
    return Exists(SocketConnection.objects.filter(session_id=OuterRef("session_id")))


def _end_next_missed(now: datetime) -> bool:
    with transaction.atomic():
        call = (
            Call.objects.select_for_update(of=("self",), skip_locked=True)
            .select_related("chat")
            .filter(state=Call.State.RINGING, ring_deadline__lte=now)
            .order_by("ring_deadline", "pk")
            .first()
        )
        if call is None:
            return False
        call_finish(call=call, reason=Call.EndReason.MISSED, now=now)
        return True


def _mark_sessions_without_socket(now: datetime) -> None:
    """Start the grace period of live participants without a socket; end it for those back."""
    live = CallParticipant.objects.filter(left_at__isnull=True, call__state=Call.State.ACTIVE)
    deadline = now + timedelta(seconds=settings.CALL_RECONNECT_GRACE_SECONDS)
    live.filter(reconnect_deadline__isnull=True).exclude(_has_socket()).update(reconnect_deadline=deadline)
    live.filter(reconnect_deadline__isnull=False).filter(_has_socket()).update(reconnect_deadline=None)


def _leave_next_disconnected(now: datetime) -> bool:
    with transaction.atomic():
        call = (
            Call.objects.select_for_update(of=("self",), skip_locked=True)
            .select_related("chat")
            .filter(
                state=Call.State.ACTIVE,
                participants__left_at__isnull=True,
                participants__reconnect_deadline__lte=now,
            )
            .order_by("pk")
            .first()
        )
        if call is None:
            return False
        # Under the call's lock: a device may have come back (re-attached, or its socket only).
        due = call.participants.filter(left_at__isnull=True, reconnect_deadline__lte=now)
        due.filter(_has_socket()).update(reconnect_deadline=None)
        for participant in due.exclude(_has_socket()):
            call = participant_leave(call=call, participant=participant, now=now, disconnected=True)
            if call.state == Call.State.ENDED:
                break
        return True
