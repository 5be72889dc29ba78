"""The WebSocket protocol's shared parts (documented in docs/asyncapi.yaml): close codes, the frame
encoding, the protocol error, and what the runtime knows of a socket."""

import json
from typing import Any, Protocol

from messenger.errors import ApplicationError

# Close codes (4000-4999 are for applications).
CLOSE_SESSION_ENDED = 4401  # the device session was logged out or revoked


class ProtocolError(ApplicationError):
    """A malformed or refused frame. Answered with an `error` frame; the socket stays open."""

    def __init__(self, message: str, *, code: str, ref: str | None = None) -> None:
        super().__init__(message, code=code)
        self.ref = ref


def encode_frame(event_type: str, data: Any, *, cursor: int | None = None, ref: str | None = None) -> str:
    """A server frame as JSON text: `type`, then `ref` (replies) or `cursor` (durable events), then `data`.

    Encoded once per event: the same text goes to every recipient.
    """
    frame: dict[str, Any] = {"type": event_type}
    if ref is not None or event_type in ("ack", "error"):
        frame["ref"] = ref
    if cursor is not None:
        frame["cursor"] = cursor
    frame["data"] = data
    return json.dumps(frame, separators=(",", ":"), default=str)


def encode_frame_with_data(event_type: str, data_json: str, *, cursor: int) -> str:
    """encode_frame for a payload that is JSON text already (as the stream stores it)."""
    return f'{{"type":{json.dumps(event_type)},"cursor":{cursor},"data":{data_json}}}'


class Socket(Protocol):
    """What the runtime and the apps know of a connected socket (messenger.consumers.ClientConsumer)."""

    channel_name: str  # the socket's unique name (it has no channel-layer channel of its own)
    user_id: str
    session_id: str
    # Where the socket's live delivery of the stream began (its `ready` cursor), and the newest
    # event delivered to it since; set by the stream tail (chats.stream_tail).
    ready_cursor: int
    live_cursor: int

    async def push_stream_frame(self, event_id: int, frame: str | None) -> None:
        """Send a durable event's frame, in stream order (None: the socket's own, acknowledged already)."""

    async def push_ephemeral_frame(self, frame: str) -> None:
        """Send a best-effort frame (typing, presence, call signaling)."""

    async def end_session(self) -> None:
        """The socket's device session ended: close it."""
