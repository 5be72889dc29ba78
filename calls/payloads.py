"""The JSON shapes of the calls app, built here only: the call record that events, acks and `ready`
carry, REST's history entries (calls.api.serializers describe them for OpenAPI), and the data of
the relayed signaling frames."""

from datetime import datetime
from typing import Any

from accounts.payloads import user_payload
from calls.models import Call, CallInvitee, CallParticipant
from chats.payloads import chat_public_payload
from messenger.api.formats import iso_datetime


def _id(value) -> str | None:
    return None if value is None else str(value)


def participant_payload(participant: CallParticipant) -> dict[str, Any]:
    return {
        "user_id": str(participant.user_id),
        "session_id": _id(participant.session_id),
        "joined_at": iso_datetime(participant.joined_at),
        "left_at": iso_datetime(participant.left_at),
    }


def call_payload(call: Call) -> dict[str, Any]:
    """A call as every device that rang or joined sees it (its chat and participants loaded)."""
    return {
        "id": str(call.pk),
        "chat_id": str(call.chat_id),
        "chat_type": call.chat.type,
        "kind": call.kind,
        "state": call.state,
        "end_reason": call.end_reason or None,
        "initiator_id": _id(call.initiator_id),
        "initiator_session_id": _id(call.initiator_session_id),
        "created_at": iso_datetime(call.created_at),
        "ring_deadline": iso_datetime(call.ring_deadline),
        "answered_at": iso_datetime(call.answered_at),
        "ended_at": iso_datetime(call.ended_at),
        "duration_seconds": call.duration_seconds,
        "participants": [participant_payload(participant) for participant in call.participants.all()],
    }


def call_missed_by(call: Call, *, invitee_state: str | None, now: datetime) -> bool:
    """Whether the viewer, an invitee in `invitee_state` (None: not rung), missed the call."""
    if invitee_state != CallInvitee.State.RINGING:
        return False
    return call.state == Call.State.ENDED or call.ring_deadline <= now


def call_history_payload(call: Call, *, viewer_id, now: datetime) -> dict[str, Any]:
    """A call as one user's history shows it: loaded by calls.selectors (`my_invitee_state`,
    and `peer`, the other user of a 1:1 call)."""
    direct = call.chat.type == call.chat.Type.DIRECT
    peer = getattr(call, "peer", None)
    return {
        **call_payload(call),
        "direction": "outgoing" if str(call.initiator_id) == str(viewer_id) else "incoming",
        "missed": call_missed_by(call, invitee_state=call.my_invitee_state, now=now),
        "peer": user_payload(peer) if direct and peer is not None else None,
        "chat": None if direct else chat_public_payload(call.chat),
    }


def call_event_payload(call: Call, **fields: Any) -> dict[str, Any]:
    """call:incoming {call, from_user_id}, call:accepted {call, user_id, session_id},
    call:rejected {call, user_id}, call:ended {call}."""
    return {"call": call_payload(call), **{name: _id(value) for name, value in fields.items()}}


def participant_event_payload(participant: CallParticipant) -> dict[str, Any]:
    """call:participant_joined / call:participant_left."""
    return {
        "call_id": str(participant.call_id),
        "user_id": str(participant.user_id),
        "session_id": _id(participant.session_id),
    }


def call_message_system(call: Call) -> dict[str, Any]:
    """What the chat's `call` message records of a call that ended (docs/asyncapi.yaml, Message)."""
    return {
        "event": "call",
        "call_id": str(call.pk),
        "call_kind": call.kind,
        "reason": call.end_reason,
        "duration_seconds": call.duration_seconds,
    }


def signal_payload(data: dict[str, Any], *, from_user_id: str, from_session_id: str) -> dict[str, Any]:
    """A relayed call:offer / call:answer / call:candidate: what was sent, and who sent it."""
    return {**data, "from_user_id": from_user_id, "from_session_id": from_session_id}


def ice_servers_payload(servers: list[dict[str, Any]], *, ttl_seconds: int) -> dict[str, Any]:
    return {"ice_servers": servers, "ttl_seconds": ttl_seconds}
