"""Real clients for the end-to-end tests: JSON over urllib and frames over a `websockets` connection.

Every wait is bounded: a frame that does not come within FRAME_TIMEOUT fails the test.
"""

import asyncio
import contextlib
import json
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Origin

FRAME_TIMEOUT = 10.0
HTTP_TIMEOUT = 10.0
PASSWORD = "e2e-Correct-Horse-Battery-42"
# Direct-to-loopback requests: a proxy from the environment must not see them.
_LOCAL_HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class HttpServer(Protocol):
    http_url: str


# --- REST --------------------------------------------------------------------------------------


def http(method: str, url: str, *, token: str | None = None, body: dict | None = None) -> tuple[int, Any]:
    """One JSON request; returns (status, decoded body), for error statuses too."""
    headers = {"Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310 - http://127.0.0.1
    try:
        with _LOCAL_HTTP.open(request, timeout=HTTP_TIMEOUT) as response:
            return response.status, _decode(response.read())
    except urllib.error.HTTPError as error:
        return error.code, _decode(error.read())


async def http_async(method: str, url: str, **kwargs: Any) -> tuple[int, Any]:
    """`http` off the event loop, so open sockets keep reading meanwhile."""
    return await asyncio.to_thread(http, method, url, **kwargs)


def _decode(body: bytes) -> Any:
    return json.loads(body) if body else None


@dataclass(frozen=True)
class Account:
    """A registered user with one device session."""

    user: dict[str, Any]
    access: str
    session_id: str

    @property
    def id(self) -> str:
        return self.user["id"]


def register(server: HttpServer, name: str) -> Account:
    """Sign up through POST /api/v1/auth/register, as a real client does."""
    username = f"{name}_{uuid.uuid4().hex[:12]}"
    status, body = http(
        "POST", f"{server.http_url}/api/v1/auth/register", body={"username": username, "password": PASSWORD}
    )
    assert status == 201, body
    assert body["user"]["username"] == username, body
    return Account(user=body["user"], access=body["access"], session_id=body["session_id"])


def direct_chat(server: HttpServer, account: Account, peer: Account) -> dict[str, Any]:
    """Create the direct chat of `account` with `peer` through POST /api/v1/chats/direct."""
    status, body = http(
        "POST", f"{server.http_url}/api/v1/chats/direct", token=account.access, body={"user_id": peer.id}
    )
    assert status == 201, body
    assert body["type"] == "direct", body
    return body


# --- WebSocket ---------------------------------------------------------------------------------


async def open_connection(ws_url: str, *, access: str | None, origin: str | None = None) -> ClientConnection:
    """The raw handshake; raises websockets.exceptions.InvalidStatus when the server refuses it."""
    headers = {"Authorization": f"Bearer {access}"} if access is not None else {}
    return await connect(
        ws_url,
        additional_headers=headers,
        origin=Origin(origin) if origin is not None else None,
        proxy=None,
        open_timeout=FRAME_TIMEOUT,
        close_timeout=2,
    )


class Socket:
    """One device's socket, with helpers that assert on whole frames."""

    def __init__(self, connection: ClientConnection, ready: dict[str, Any]) -> None:
        self.connection = connection
        self.ready = ready
        self._refs = 0

    @classmethod
    async def open(cls, ws_url: str, account: Account, *, origin: str | None = None) -> "Socket":
        """Connect and check that the first frame is `ready` for this account's session."""
        connection = await open_connection(ws_url, access=account.access, origin=origin)
        ready = json.loads(await asyncio.wait_for(connection.recv(), FRAME_TIMEOUT))
        # last_seen is the one profile field that moves: it is set when the user's last socket closes.
        user = {**account.user, "last_seen": ready["data"]["user"]["last_seen"]}
        data = {
            "user": user,
            "session_id": account.session_id,
            "cursor": ready["data"]["cursor"],
            "online_user_ids": ready["data"]["online_user_ids"],
            "calls": ready["data"]["calls"],
        }
        assert ready == {"type": "ready", "data": data}, ready
        assert isinstance(ready["data"]["cursor"], int), ready
        assert isinstance(ready["data"]["online_user_ids"], list) and isinstance(ready["data"]["calls"], list), ready
        return cls(connection, ready)

    @property
    def cursor(self) -> int:
        return self.ready["data"]["cursor"]

    async def send(self, event_type: str, data: dict[str, Any] | None = None) -> str:
        """Send a frame with a fresh ref; returns the ref."""
        self._refs += 1
        ref = f"r{self._refs}"
        await self.connection.send(json.dumps({"type": event_type, "ref": ref, "data": data or {}}))
        return ref

    async def send_raw(self, payload: str | bytes) -> None:
        await self.connection.send(payload)

    async def receive(self, timeout: float = FRAME_TIMEOUT) -> dict[str, Any]:
        return json.loads(await asyncio.wait_for(self.connection.recv(), timeout))

    async def next_frame(self, timeout: float = FRAME_TIMEOUT) -> dict[str, Any]:
        """The next frame other than presence:update.

        Presence is ephemeral and arrives whenever someone sharing a chat connects or leaves,
        on whichever process, so tests that are not about presence skip it.
        """
        deadline = time.monotonic() + timeout
        while True:
            frame = await self.receive(max(deadline - time.monotonic(), 0.001))
            if frame["type"] != "presence:update":
                return frame

    async def receive_type(self, event_type: str, timeout: float = FRAME_TIMEOUT) -> dict[str, Any]:
        """The next frame (presence aside), which must be of `event_type`."""
        frame = await self.next_frame(timeout)
        assert frame["type"] == event_type, frame
        return frame

    async def reply(self, ref: str, timeout: float = FRAME_TIMEOUT) -> dict[str, Any]:
        """The next frame (presence aside), which must be the ack or error for `ref`."""
        frame = await self.next_frame(timeout)
        assert frame["type"] in ("ack", "error") and frame.get("ref") == ref, (ref, frame)
        return frame

    async def request(self, event_type: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
        return await self.reply(await self.send(event_type, data))

    async def ping(self) -> None:
        """`ping` with a ref gets a `pong`, then the `ack`: the socket is open and serving."""
        ref = await self.send("ping")
        pong = await self.receive_type("pong")
        assert pong == {"type": "pong", "data": {"server_time": pong["data"]["server_time"]}}
        assert datetime.fromisoformat(pong["data"]["server_time"]).tzinfo is not None
        assert await self.reply(ref) == {"type": "ack", "ref": ref, "data": {}}

    async def frames_within(self, timeout: float) -> list[dict[str, Any]]:
        """Every frame (presence aside) that arrives within `timeout`; a test expects []."""
        frames = []
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                frames.append(await self.next_frame(remaining))
            except TimeoutError:
                break
        return frames

    async def close(self) -> None:
        with contextlib.suppress(Exception):  # already closed by a stopped server
            await self.connection.close()
