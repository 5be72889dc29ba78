"""Events of the calls app: the only module of the app that writes the stream or publishes frames.

* The lifecycle of a call (call:incoming, call:accepted, call:rejected, call:ended,
  call:participant_joined, call:participant_left) is durable: stream events appended by the
  services in their transaction (chats.events.stream_event_record), so `sync:request` replays
  them and every device of a user converges on a call's state. Who hears what:
  - the chat's members (`chat_id`): call:incoming (the caller's other devices learn of the
    outgoing call from it too) and call:ended, so whoever rang knows it is over; in a 1:1 call,
    every event (its two users are its participants);
  - in a group call, the other participants and the actor's own other devices (`user_id`, one
    event each): call:accepted and call:participant_joined / _left; call:rejected goes to the
    declining user's devices only (the call goes on without them).
* Signaling (call:offer, call:answer, call:candidate) is ephemeral: relayed through the channel
  layer to exactly one device session (messenger.relay.publish_to_session), never stored.
"""

from collections.abc import Iterable
from typing import Any

from calls.models import Call, CallParticipant
from calls.payloads import call_event_payload, participant_event_payload
from chats.events import stream_event_record
from messenger.relay import publish_to_session
from messenger.ws_protocol import encode_frame


def _to_users(*, type: str, payload: dict[str, Any], user_ids: Iterable, origin: str) -> None:
    for user_id in sorted({str(user_id) for user_id in user_ids}):
        stream_event_record(type=type, payload=payload, user_id=user_id, origin=origin)


def _group_audience(call: Call, *, actor_id) -> set[str]:
    """The users in the call (its live participants) and the actor."""
    live = {str(participant.user_id) for participant in call.participants.all() if participant.left_at is None}
    return live | {str(actor_id)}


def call_incoming_record(call: Call, *, origin: str) -> None:
    stream_event_record(
        type="call:incoming",
        chat_id=call.chat_id,
        payload=call_event_payload(call, from_user_id=call.initiator_id),
        origin=origin,
    )


def call_accepted_record(call: Call, participant: CallParticipant, *, origin: str) -> None:
    payload = call_event_payload(call, user_id=participant.user_id, session_id=participant.session_id)
    if call.is_group:
        _to_users(
            type="call:accepted",
            payload=payload,
            user_ids=_group_audience(call, actor_id=participant.user_id),
            origin=origin,
        )
    else:
        stream_event_record(type="call:accepted", chat_id=call.chat_id, payload=payload, origin=origin)


def call_rejected_record(call: Call, *, user_id, origin: str) -> None:
    """A user declined a group call: their other devices stop ringing."""
    _to_users(
        type="call:rejected", payload=call_event_payload(call, user_id=user_id), user_ids=[user_id], origin=origin
    )


def call_ended_record(call: Call, *, origin: str) -> None:
    stream_event_record(type="call:ended", chat_id=call.chat_id, payload=call_event_payload(call), origin=origin)


def call_participant_record(call: Call, participant: CallParticipant, *, joined: bool, origin: str) -> None:
    """call:participant_joined / call:participant_left of a group call, to the others in it."""
    _to_users(
        type="call:participant_joined" if joined else "call:participant_left",
        payload=participant_event_payload(participant),
        user_ids=_group_audience(call, actor_id=participant.user_id),
        origin=origin,
    )


async def call_signal_relayed(*, type: str, to_session_id, payload: dict[str, Any]) -> None:
    """A signaling frame to the one device session it is addressed to, wherever its socket is."""
    await publish_to_session(to_session_id, encode_frame(type, payload))
