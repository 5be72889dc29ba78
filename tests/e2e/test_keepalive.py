"""Keep-alive pings on the real server: a quiet socket is pinged every interval, a talking one is not."""

import asyncio
import json
import time

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.frames import Frame, Opcode

from tests.e2e.clients import FRAME_TIMEOUT, register

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PING_INTERVAL_SECONDS = 1  # the server checks every 2 s, so a quiet socket is pinged every ~2 s
WATCH_SECONDS = 5.5


class PingCountingConnection(ClientConnection):
    """A client connection that records the server's pings (websockets answers them itself)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.pings: list[float] = []

    def process_event(self, event) -> None:
        if isinstance(event, Frame) and event.opcode is Opcode.PING:
            self.pings.append(time.monotonic())
        super().process_event(event)


async def open_counting(ws_url: str, access: str) -> PingCountingConnection:
    connection = await connect(
        ws_url,
        additional_headers={"Authorization": f"Bearer {access}"},
        proxy=None,
        open_timeout=FRAME_TIMEOUT,
        ping_interval=None,  # only the server pings
        create_connection=PingCountingConnection,
    )
    ready = json.loads(await asyncio.wait_for(connection.recv(), FRAME_TIMEOUT))
    assert ready["type"] == "ready", ready
    return connection


async def test_quiet_sockets_are_pinged_and_talking_ones_are_not(cluster):
    (server,) = cluster.start("a", env={"WS_PING_INTERVAL_SECONDS": str(PING_INTERVAL_SECONDS)})
    alice, bob = register(server, "alice"), register(server, "bob")
    quiet = await open_counting(server.ws_url, alice.access)
    talking = await open_counting(server.ws_url, bob.access)
    try:
        deadline = time.monotonic() + WATCH_SECONDS
        sent = 0
        while time.monotonic() < deadline:
            sent += 1
            await talking.send(json.dumps({"type": "ping", "ref": f"r{sent}", "data": {}}))
            await asyncio.sleep(0.25)
        replies = [json.loads(await asyncio.wait_for(talking.recv(), FRAME_TIMEOUT)) for _ in range(2 * sent)]

        assert len(quiet.pings) >= 2, quiet.pings
        assert all(later - earlier > 1 for earlier, later in zip(quiet.pings, quiet.pings[1:], strict=False))
        assert talking.pings == []
        assert [reply["type"] for reply in replies] == ["pong", "ack"] * sent
        # Both sockets are still open and serving.
        await quiet.send(json.dumps({"type": "ping", "ref": "last", "data": {}}))
        assert json.loads(await asyncio.wait_for(quiet.recv(), FRAME_TIMEOUT))["type"] == "pong"
    finally:
        await quiet.close()
        await talking.close()
