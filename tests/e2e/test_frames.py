"""Malformed frames on the real server get an `error` frame each, and the socket stays open."""

import json

import pytest
from django.conf import settings

from tests.e2e.clients import register

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def error(code: str, message: str, *, ref: str | None = None, details: dict | None = None) -> dict:
    return {"type": "error", "ref": ref, "data": {"code": code, "message": message, "details": details or {}}}


async def test_bad_frames_keep_socket_open(cluster, connect):
    (server,) = cluster.start("a")
    socket = await connect(server, register(server, "alice"))
    limit = settings.WS_MAX_FRAME_BYTES
    oversized = json.dumps({"type": "ping", "ref": "big", "data": {"padding": "x" * limit}})
    assert len(oversized.encode()) > limit

    bad_frames = [
        ("this is not JSON", error("invalid_json", "The frame is not valid JSON.")),
        ('["message:send", {}]', error("invalid_frame", "A frame is a JSON object.")),
        (b'{"type": "ping"}', error("invalid_frame", "Frames must be JSON text.")),
        (
            json.dumps({"type": "no:such", "ref": "u1", "data": {}}),
            error("unknown_type", "Unknown event type 'no:such'.", ref="u1"),
        ),
        (oversized, error("frame_too_large", f"Frames are limited to {limit} bytes.")),
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


async def test_frame_limit_counts_bytes(cluster, connect):
    (server,) = cluster.start("a")
    socket = await connect(server, register(server, "alice"))
    limit = settings.WS_MAX_FRAME_BYTES
    # 3 bytes per character in UTF-8: about 96 KiB on the wire in fewer than `limit` characters.
    oversized = json.dumps({"type": "ping", "ref": "big", "data": {"padding": "€" * (limit // 2)}}, ensure_ascii=False)
    assert len(oversized) < limit < len(oversized.encode())

    await socket.send_raw(oversized)
    assert await socket.next_frame() == error("frame_too_large", f"Frames are limited to {limit} bytes.")
    await socket.ping()
