"""The one WebSocket consumer: a thin frame dispatcher.

It parses and checks each client frame, enforces the size and rate limits, and hands the
`data` to the handler an app registered for the frame's `type` (messenger.socket_apps). Handlers
call services; services publish events. Errors of any handler come back as an `error` frame with
the handler's stable code; the socket stays open.
"""

import asyncio
import json
import logging
import time
import uuid
from typing import Any

from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from messenger import realtime, socket_apps
from messenger.errors import ApplicationError
from messenger.ws_protocol import CLOSE_SESSION_ENDED, ProtocolError, encode_frame

logger = logging.getLogger(__name__)

SHUTDOWN_CLEANUP_SECONDS = 5


class TokenBucket:
    """Per-connection rate limit: `rate` frames per second with bursts up to `burst`."""

    __slots__ = ("burst", "rate", "tokens", "updated")

    def __init__(self, *, rate: float, burst: float) -> None:
        self.rate, self.burst, self.tokens, self.updated = rate, burst, burst, time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class ClientConsumer(AsyncWebsocketConsumer):
    """One per client device, at /ws/. Authenticated by accounts.ws_auth before it exists."""

    async def __call__(self, scope, receive, send) -> None:
        # Channels' AsyncConsumer gives every socket a channel-layer channel and waits on it and
        # on the client with two tasks (channels-redis adds two more per wait). Here the process
        # subscribes once for all its sockets (messenger.relay), so a socket is this one loop
        # reading its client, and connecting costs no channel-layer round trip of its own.
        self.scope = scope
        self.channel_layer = None
        self.channel_name = f"ws.{realtime.SERVER_ID}.{uuid.uuid4().hex}"  # names the socket (presence, origin)
        self.base_send = send
        try:
            while True:
                await self.dispatch(await receive())
        except StopConsumer:
            pass

    async def connect(self) -> None:
        self.user = self.scope["user"]
        self.device_session = self.scope["device_session"]
        self.user_id = str(self.user.pk)
        self.session_id = str(self.device_session.pk)
        self.rate_limit = TokenBucket(rate=settings.WS_RATE_LIMIT_PER_SECOND, burst=settings.WS_RATE_LIMIT_BURST)
        # Set by the stream tail when the socket attaches: where its live delivery begins, and the
        # newest event delivered to it since.
        self.ready_cursor = self.live_cursor = 0
        self.ready_sent = False
        self.pending_frames: list[str] = []
        self.registered = False
        await self.accept()
        self.runtime = realtime.for_running_loop()
        await self.runtime.attach(self)
        self.registered = True
        ready: dict[str, Any] = {"session_id": self.session_id}
        for app in socket_apps.registered_apps():
            if app.opened is not None:
                ready.update(await app.opened(self))
        await self.send(text_data=encode_frame("ready", ready))
        self.ready_sent = True
        for frame in self.pending_frames:
            await self.send(text_data=frame)
        self.pending_frames = []

    async def disconnect(self, code: int) -> None:
        if not getattr(self, "registered", False):
            return
        self.registered = False  # run once
        # A server shutdown (daphne on SIGTERM) cancels consumers, possibly while they handle their
        # disconnect. Once this socket's presence row is gone, its offline broadcast must follow:
        # no other process would reap the socket and send it. So the cleanup runs on, bounded.
        cleanup = asyncio.ensure_future(self._leave())
        try:
            await asyncio.shield(cleanup)
        except asyncio.CancelledError:
            await asyncio.wait([cleanup], timeout=SHUTDOWN_CLEANUP_SECONDS)
            raise

    async def _leave(self) -> None:
        try:
            for app in reversed(socket_apps.registered_apps()):
                if app.closed is not None:
                    await app.closed(self)
        finally:
            await self.runtime.detach(self)

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels' dispatch first closes stale database connections of the request thread,
        # a thread hop for every frame. This consumer never uses that thread's connection: its
        # ORM work runs in database_sync_to_async (which does the same cleanup itself) and its
        # hot path on the event loop's pool.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    # --- client frames ---------------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        ref = None
        try:
            if bytes_data is not None or text_data is None:
                raise ProtocolError("Frames must be JSON text.", code="invalid_frame")
            # Characters first (cheap); a UTF-8 frame is at most 4 bytes per character.
            limit = settings.WS_MAX_FRAME_BYTES
            if len(text_data) > limit // 4 and len(text_data.encode()) > limit:
                raise ProtocolError(
                    f"Frames are limited to {settings.WS_MAX_FRAME_BYTES} bytes.", code="frame_too_large"
                )
            event_type, ref, data = _parse_frame(text_data)
            if not self.rate_limit.take():
                raise ProtocolError("Too many frames; slow down.", code="rate_limited")
            handler = socket_apps.handler_for(event_type)
            if handler is None:
                raise ProtocolError(f"Unknown event type {event_type!r}.", code="unknown_type")
            ack = await handler(self, data)
            if ref is not None:
                await self.send_frame("ack", ack or {}, ref=ref)
        except ApplicationError as error:
            ref = ref if ref is not None else getattr(error, "ref", None)
            await self.send_frame(
                "error", {"code": error.code, "message": error.message, "details": error.details}, ref=ref
            )
        except Exception:
            logger.exception("WebSocket frame failed (user %s, ref %r)", self.user_id, ref)
            await self.send_frame(
                "error", {"code": "server_error", "message": "Internal server error.", "details": {}}, ref=ref
            )

    async def send_frame(
        self, event_type: str, data: Any, *, ref: str | None = None, cursor: int | None = None
    ) -> None:
        await self.send(text_data=encode_frame(event_type, data, ref=ref, cursor=cursor))

    # --- server-side deliveries -------------------------------------------------------------

    async def push_stream_frame(self, event_id: int, frame: str | None) -> None:
        """Called by the stream tail, in stream order."""
        self.live_cursor = max(self.live_cursor, event_id)
        if frame is not None:
            await self._send_after_ready(frame)

    async def push_ephemeral_frame(self, frame: str) -> None:
        """A best-effort frame (typing, presence) from the relay, encoded once for all its recipients."""
        await self._send_after_ready(frame)

    async def _send_after_ready(self, frame: str) -> None:
        if not self.ready_sent:
            self.pending_frames.append(frame)  # `ready` must be the first frame; connect() sends these after it
            return
        await self.send(text_data=frame)

    async def end_session(self) -> None:
        """The device session was revoked (from the relay)."""
        await self.close(code=CLOSE_SESSION_ENDED)


def _parse_frame(text: str) -> tuple[str, str | None, dict[str, Any]]:
    try:
        frame = json.loads(text)
    except ValueError as exc:
        raise ProtocolError("The frame is not valid JSON.", code="invalid_json") from exc
    if not isinstance(frame, dict):
        raise ProtocolError("A frame is a JSON object.", code="invalid_frame")
    ref = frame.get("ref")
    if ref is not None and not isinstance(ref, str | int):
        raise ProtocolError("`ref` must be a string.", code="invalid_frame")
    ref = None if ref is None else str(ref)[:64]
    event_type = frame.get("type")
    if not isinstance(event_type, str):
        raise ProtocolError("A frame needs a string `type`.", code="invalid_frame", ref=ref)
    data = frame.get("data", {})
    if not isinstance(data, dict):
        raise ProtocolError("`data` must be a JSON object.", code="invalid_frame", ref=ref)
    return event_type, ref, data
