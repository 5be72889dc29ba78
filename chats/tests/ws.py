"""Helpers for WebSocket tests through channels.testing.WebsocketCommunicator."""

import contextlib
import json

from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from accounts.services import session_create
from chats.tests.asyncapi import validate_server_frame
from messenger.asgi import application

TIMEOUT = 3


class Client:
    """A test device: one socket, with helpers that assert on whole frames."""

    def __init__(self, communicator: WebsocketCommunicator) -> None:
        self.ws = communicator
        self.ready: dict = {}
        self._refs = 0

    async def send(self, event_type: str, data: dict | None = None, *, ref: str | None = "auto") -> str | None:
        if ref == "auto":
            self._refs += 1
            ref = f"r{self._refs}"
        frame = {"type": event_type, "data": data or {}}
        if ref is not None:
            frame["ref"] = ref
        await self.ws.send_to(text_data=json.dumps(frame))
        return ref

    async def receive(self, timeout: float = TIMEOUT) -> dict:
        frame = json.loads(await self.ws.receive_from(timeout=timeout))
        validate_server_frame(frame)  # every frame a test sees must match docs/asyncapi.yaml
        return frame

    async def receive_type(self, event_type: str, timeout: float = TIMEOUT) -> dict:
        """The next frame, which must be of `event_type`.

        presence:update frames are skipped unless asked for: they are ephemeral and arrive
        whenever anyone sharing a chat connects, so they would make every test racy.
        """
        while True:
            frame = await self.receive(timeout)
            if frame["type"] == "presence:update" and event_type != "presence:update":
                continue
            assert frame["type"] == event_type, frame
            return frame

    async def reply(self, ref: str, timeout: float = TIMEOUT) -> dict:
        """The ack or error for `ref`, skipping events that arrive before it."""
        while True:
            frame = await self.receive(timeout)
            if frame["type"] in ("ack", "error") and frame.get("ref") == ref:
                return frame

    async def request(self, event_type: str, data: dict | None = None) -> dict:
        return await self.reply(await self.send(event_type, data))

    async def collect(self, timeout: float = 0.3) -> list[dict]:
        """Every frame that arrives within `timeout`."""
        frames = []
        while not await self.ws.receive_nothing(timeout=timeout):
            frames.append(await self.receive())
        return frames

    async def nothing(self, timeout: float = 0.3) -> bool:
        """True if no frame other than presence:update arrives within `timeout`."""
        return all(frame["type"] == "presence:update" for frame in await self.collect(timeout))

    async def close(self) -> None:
        await self.ws.disconnect()


def _token_for(user, device_name: str) -> str:
    _, pair = session_create(user=user, device_name=device_name)
    return pair.access


OPEN: list["Client"] = []


async def close_all() -> None:
    """Disconnect every client a test opened, even when it failed half-way."""
    while OPEN:
        client = OPEN.pop()
        with contextlib.suppress(Exception):  # already closed by the server
            await client.ws.disconnect()


async def connect(user=None, *, token: str | None = None, device: str = "test", headers=None, path="/ws/") -> Client:
    """Open an authenticated socket and consume its `ready` frame."""
    if token is None:
        token = await database_sync_to_async(_token_for)(user, device)
    all_headers = [(b"authorization", f"Bearer {token}".encode()), *list(headers or [])]
    communicator = WebsocketCommunicator(application, path, headers=all_headers)
    connected, code = await communicator.connect(timeout=TIMEOUT)
    assert connected, code
    client = Client(communicator)
    OPEN.append(client)
    client.ready = await client.receive_type("ready")
    return client


async def refused(path: str = "/ws/", headers=None) -> bool:
    communicator = WebsocketCommunicator(application, path, headers=headers or [])
    connected, _ = await communicator.connect(timeout=TIMEOUT)
    if connected:
        await communicator.disconnect()
    return not connected
