"""Malformed frames on the real server get an `error` frame each, and the socket stays open;
a frame over the size limit closes the socket with 1009 before the server reads it."""

import asyncio
import json

import pytest
from django.conf import settings
from websockets.exceptions import ConnectionClosedError

from tests.e2e.clients import FRAME_TIMEOUT, register

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def error(code: str, message: str, *, ref: str | None = None, details: dict | None = None) -> dict:
    return {"type": "error", "ref": ref, "data": {"code": code, "message": message, "details": details or {}}}


async def test_bad_frames_keep_socket_open(cluster, connect):
    (server,) = cluster.start("a")
    socket = await connect(server, register(server, "alice"))
    bad_frames = [
        ("this is not JSON", error("invalid_json", "The frame is not valid JSON.")),
        ('["message:send", {}]', error("invalid_frame", "A frame is a JSON object.")),
        (b'{"type": "ping"}', error("invalid_frame", "Frames must be JSON text.")),
        (
            json.dumps({"type": "no:such", "ref": "u1", "data": {}}),
            error("unknown_type", "Unknown event type 'no:such'.", ref="u1"),
        ),
        (
            json.dumps({"type": "message:send", "ref": "v1", "data": {"text": "no chat"}}),
            error(
                "validation_error",
                "The event data is invalid.",
                ref="v1",
                details={"chat_id": ["This field is required."], "client_id": ["This field is required."]},
            ),
        ),
    ]
    for payload, expected in bad_frames:
        await socket.send_raw(payload)
        assert await socket.next_frame() == expected, payload[:80]

    await socket.ping()


async def closed_by_server(socket) -> tuple[int, str]:
    """Wait for the server's close frame; (code, reason)."""
    with pytest.raises(ConnectionClosedError) as closed:
        await asyncio.wait_for(socket.connection.recv(), FRAME_TIMEOUT)
    assert closed.value.rcvd is not None, "the server dropped the connection without a close frame"
    return closed.value.rcvd.code, closed.value.rcvd.reason


@pytest.mark.parametrize("size", [settings.WS_MAX_FRAME_BYTES + 1, 2 * 1024 * 1024], ids=["limit+1", "2MiB"])
async def test_a_frame_over_the_limit_closes_the_socket_with_1009(cluster, connect, size):
    (server,) = cluster.start("a")
    socket = await connect(server, register(server, "alice"))
    bystander = await connect(server, register(server, "bob"))
    oversized = json.dumps({"type": "ping", "ref": "big", "data": {"padding": ""}})
    oversized = oversized.replace('""', '"' + "x" * (size - len(oversized)) + '"')
    assert len(oversized.encode()) == size

    await socket.send_raw(oversized)
    limit = settings.WS_MAX_FRAME_BYTES
    assert await closed_by_server(socket) == (1009, f"Frames are limited to {limit} bytes.")
    await bystander.ping()
    again = await connect(server, register(server, "carol"))  # the server serves on
    await again.ping()


async def test_a_frame_at_the_limit_is_read(cluster, connect):
    (server,) = cluster.start("a")
    socket = await connect(server, register(server, "alice"))
    frame = json.dumps({"type": "ping", "ref": "full", "data": {"padding": ""}})
    frame = frame.replace('""', '"' + "x" * (settings.WS_MAX_FRAME_BYTES - len(frame)) + '"')
    assert len(frame.encode()) == settings.WS_MAX_FRAME_BYTES

    await socket.send_raw(frame)
    assert (await socket.receive_type("pong"))["type"] == "pong"
    assert await socket.reply("full") == {"type": "ack", "ref": "full", "data": {}}


async def test_frame_limit_counts_bytes(cluster, connect):
    (server,) = cluster.start("a")
    socket = await connect(server, register(server, "alice"))
    limit = settings.WS_MAX_FRAME_BYTES
    # 3 bytes per character in UTF-8: about 96 KiB on the wire in fewer than `limit` characters.
    oversized = json.dumps({"type": "ping", "ref": "big", "data": {"padding": "€" * (limit // 2)}}, ensure_ascii=False)
    assert len(oversized) < limit < len(oversized.encode())

    await socket.send_raw(oversized)
    assert await closed_by_server(socket) == (1009, f"Frames are limited to {limit} bytes.")
