"""WebSocket handlers for the calls app's frame types (registered by CallsConfig.ready).

The lifecycle frames validate with the serializers REST uses, call a service with the socket's
device session and answer with the call record. The signaling frames (offer, answer, candidate)
are checked here and relayed to the one session they are addressed to; they go through the
consumer like any frame, so they count against the socket's rate limit.
"""

import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils import timezone

from calls import errors, events, selectors, services
from calls.api import serializers as s
from calls.models import Call
from calls.payloads import call_payload, signal_payload
from chats.handlers import validated
from messenger.db import db_parallel
from messenger.socket_apps import Handler

if TYPE_CHECKING:
    from messenger.consumers import ClientConsumer


async def _lifecycle(socket: "ClientConsumer", service: Callable[..., Call], **arguments: Any) -> dict[str, Any]:
    def run() -> dict[str, Any]:
        call = service(user=socket.user, session_id=socket.session_id, origin=socket.channel_name, **arguments)
        return {"call": call_payload(call)}

    return await db_parallel(run)()


async def call_start(socket: "ClientConsumer", data: dict[str, Any]) -> dict[str, Any]:
    return await _lifecycle(socket, services.call_start, **validated(s.CallStartSerializer, data))


def _call_id(data: dict[str, Any]) -> uuid.UUID:
    return validated(s.CallRefSerializer, data)["call_id"]


async def call_accept(socket: "ClientConsumer", data: dict[str, Any]) -> dict[str, Any]:
    return await _lifecycle(socket, services.call_accept, call_id=_call_id(data))


async def call_reject(socket: "ClientConsumer", data: dict[str, Any]) -> dict[str, Any]:
    return await _lifecycle(socket, services.call_reject, call_id=_call_id(data))


async def call_join(socket: "ClientConsumer", data: dict[str, Any]) -> dict[str, Any]:
    return await _lifecycle(socket, services.call_join, call_id=_call_id(data))


async def call_end(socket: "ClientConsumer", data: dict[str, Any]) -> dict[str, Any]:
    return await _lifecycle(socket, services.call_end, **validated(s.CallEndFrameSerializer, data))


async def call_leave(socket: "ClientConsumer", data: dict[str, Any]) -> dict[str, Any]:
    return await _lifecycle(socket, services.call_leave, **validated(s.CallEndFrameSerializer, data))


# --- signaling -------------------------------------------------------------------------------------


def _uuid_field(data: dict[str, Any], name: str, problems: dict[str, list[str]]) -> uuid.UUID | None:
    value = data.get(name)
    if not isinstance(value, str):
        problems[name] = ["This field is required." if value is None else "Must be a valid UUID."]
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        problems[name] = ["Must be a valid UUID."]
        return None


def _text(value: Any, *, name: str, max_bytes: int, problems: dict[str, list[str]], required: bool = True):
    if value is None and not required:
        return None
    if not isinstance(value, str):
        problems[name] = ["This field is required." if value is None else "Must be a string."]
    elif len(value) > max_bytes // 4 and len(value.encode()) > max_bytes:
        problems[name] = [f"At most {max_bytes} bytes."]
    return value


def _candidate(value: Any, problems: dict[str, list[str]]) -> dict[str, Any] | None:
    """The browser's RTCIceCandidateInit; an empty `candidate` signals the end of candidates."""
    if not isinstance(value, dict):
        problems["candidate"] = ["This field is required." if value is None else "Must be an object."]
        return None
    inner: dict[str, list[str]] = {}
    text = _text(value.get("candidate"), name="candidate", max_bytes=settings.CALL_CANDIDATE_MAX_BYTES, problems=inner)
    mid = _text(value.get("sdpMid"), name="sdpMid", max_bytes=256, problems=inner, required=False)
    fragment = _text(
        value.get("usernameFragment"), name="usernameFragment", max_bytes=256, problems=inner, required=False
    )
    index = value.get("sdpMLineIndex")
    if index is not None and (type(index) is not int or not 0 <= index <= 65535):
        inner["sdpMLineIndex"] = ["Must be an integer from 0 to 65535."]
    if not inner and text and mid is None and index is None:
        inner["sdpMid"] = ["sdpMid or sdpMLineIndex is required."]
    if inner:
        problems["candidate"] = [f"{field}: {message}" for field, messages in inner.items() for message in messages]
        return None
    return {"candidate": text, "sdpMid": mid, "sdpMLineIndex": index, "usernameFragment": fragment}


def signal_input(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    """A signaling frame's data, checked without a serializer (these are the frames a call is made
    of: a few dozen per call setup); validation_error with DRF-shaped details otherwise."""
    problems: dict[str, list[str]] = {}
    call_id = _uuid_field(data, "call_id", problems)
    to_session_id = _uuid_field(data, "to_session_id", problems)
    if event_type == "call:candidate":
        body = {"candidate": _candidate(data.get("candidate"), problems)}
    else:
        sdp = _text(data.get("sdp"), name="sdp", max_bytes=settings.CALL_SDP_MAX_BYTES, problems=problems)
        if "sdp" not in problems and not sdp:
            problems["sdp"] = ["This field may not be blank."]
        body = {"sdp": sdp}
    if problems:
        raise errors.invalid(problems)
    return {"call_id": call_id, "to_session_id": to_session_id, **body}


async def _signal(socket: "ClientConsumer", data: dict[str, Any], *, event_type: str) -> None:
    signal = signal_input(event_type, data)
    allowed = await selectors.signaling_route_exists(
        call_id=signal["call_id"], from_session_id=socket.session_id, to_session_id=signal["to_session_id"]
    )
    if not allowed:
        raise errors.call_not_found()
    relayed = {**signal, "call_id": str(signal["call_id"]), "to_session_id": str(signal["to_session_id"])}
    await events.call_signal_relayed(
        type=event_type,
        to_session_id=signal["to_session_id"],
        payload=signal_payload(relayed, from_user_id=socket.user_id, from_session_id=socket.session_id),
    )


async def call_offer(socket: "ClientConsumer", data: dict[str, Any]) -> None:
    await _signal(socket, data, event_type="call:offer")


async def call_answer(socket: "ClientConsumer", data: dict[str, Any]) -> None:
    await _signal(socket, data, event_type="call:answer")


async def call_candidate(socket: "ClientConsumer", data: dict[str, Any]) -> None:
    await _signal(socket, data, event_type="call:candidate")


HANDLERS: dict[str, Handler] = {
    "call:start": call_start,
    "call:accept": call_accept,
    "call:reject": call_reject,
    "call:join": call_join,
    "call:end": call_end,
    "call:leave": call_leave,
    "call:offer": call_offer,
    "call:answer": call_answer,
    "call:candidate": call_candidate,
}


# --- the socket's life -------------------------------------------------------------------------------


async def socket_opened(socket: "ClientConsumer") -> dict[str, Any]:
    """`ready` lists the calls ringing for the user and those they are in, so a device that
    (re)connects mid-ring can answer and one that dropped out of a call can rejoin."""

    def ongoing() -> list[dict[str, Any]]:
        calls = selectors.calls_ongoing_for_user(user_id=socket.user_id, now=timezone.now())
        return [call_payload(call) for call in calls]

    return {"calls": await db_parallel(ongoing)()}
