"""Every class of bad frame gets an `error` frame with a stable code, and the socket stays open."""

import json

import pytest

from accounts.tests.factories import UserFactory
from chats.tests.factories import direct_chat
from chats.tests.ws import connect

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio, pytest.mark.usefixtures("ws_cleanup")]


@pytest.fixture
def pair(db):
    alice, bob = UserFactory(), UserFactory()
    return alice, bob, direct_chat(alice, bob)


async def still_alive(client) -> None:
    reply = await client.request("ping")
    assert reply["type"] == "ack"


@pytest.mark.parametrize(
    ("raw", "code", "ref"),
    [
        ("not json", "invalid_json", None),
        ("[1, 2]", "invalid_frame", None),
        ('{"data": {}}', "invalid_frame", None),
        ('{"type": 5, "ref": "a"}', "invalid_frame", "a"),
        ('{"type": "ping", "ref": "b", "data": []}', "invalid_frame", "b"),
        ('{"type": "ping", "ref": {"x": 1}}', "invalid_frame", None),
        ('{"type": "nope", "ref": "c"}', "unknown_type", "c"),
    ],
)
async def test_malformed_frames(pair, raw, code, ref):
    alice, _, _ = pair
    client = await connect(alice)
    await client.ws.send_to(text_data=raw)
    error = await client.receive_type("error")
    assert error["ref"] == ref
    assert error["data"]["code"] == code and error["data"]["message"]
    await still_alive(client)


async def test_binary_frames_are_refused(pair):
    client = await connect(pair[0])
    await client.ws.send_to(bytes_data=b"\x00\x01")
    assert (await client.receive_type("error"))["data"]["code"] == "invalid_frame"
    await still_alive(client)


async def test_oversized_frame(pair):
    alice, _, chat = pair
    client = await connect(alice)
    frame = {
        "type": "message:send",
        "ref": "big",
        "data": {"chat_id": str(chat.id), "client_id": "x", "text": "a" * 70_000},
    }
    await client.ws.send_to(text_data=json.dumps(frame))
    error = await client.receive_type("error")
    assert error["data"]["code"] == "frame_too_large"
    await still_alive(client)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({}, "chat_id"),
        ({"chat_id": "not-a-uuid", "client_id": "x", "text": "hi"}, "chat_id"),
        ({"chat_id": "CHAT", "text": "hi"}, "client_id"),
        ({"chat_id": "CHAT", "client_id": ["x"], "text": "hi"}, "client_id"),
        ({"chat_id": "CHAT", "client_id": "x", "text": {"a": 1}}, "text"),
        ({"chat_id": "CHAT", "client_id": "x", "text": "hi", "attachment_ids": "nope"}, "attachment_ids"),
    ],
)
async def test_missing_fields_and_wrong_types(pair, data, field):
    alice, _, chat = pair
    data = {key: (str(chat.id) if value == "CHAT" else value) for key, value in data.items()}
    client = await connect(alice)
    error = await client.request("message:send", data)
    assert error["type"] == "error" and error["data"]["code"] == "validation_error"
    assert field in error["data"]["details"]
    await still_alive(client)


@pytest.mark.parametrize(
    ("event_type", "data"),
    [
        ("message:read", {"chat_id": "CHAT", "up_to_seq": -1}),
        ("message:delivered", {"chat_id": "CHAT", "up_to_seq": "many"}),
        ("typing:start", {}),
        ("sync:request", {"cursor": "x"}),
    ],
)
async def test_other_events_validate_their_data(pair, event_type, data):
    alice, _, chat = pair
    data = {key: (str(chat.id) if value == "CHAT" else value) for key, value in data.items()}
    client = await connect(alice)
    assert (await client.request(event_type, data))["data"]["code"] == "validation_error"


async def test_unknown_chat_is_not_found(pair):
    client = await connect(pair[0])
    error = await client.request(
        "message:send", {"chat_id": "00000000-0000-0000-0000-000000000000", "client_id": "x", "text": "hi"}
    )
    assert error["data"]["code"] == "not_found"


async def test_rate_limit(pair, settings):
    settings.WS_RATE_LIMIT_BURST = 5
    settings.WS_RATE_LIMIT_PER_SECOND = 1
    client = await connect(pair[0])
    refs = [await client.send("ping") for _ in range(8)]
    replies = [await client.reply(ref) for ref in refs]
    assert [r["type"] for r in replies] == ["ack"] * 5 + ["error"] * 3
    assert {r["data"]["code"] for r in replies[5:]} == {"rate_limited"}


async def test_frames_without_ref_get_no_ack(pair):
    client = await connect(pair[0])
    await client.send("ping", ref=None)
    assert (await client.receive_type("pong"))["data"]["server_time"]
    assert await client.nothing()


async def test_frame_limit_counts_utf8_bytes(pair):
    alice, _, chat = pair
    client = await connect(alice)
    # 20,000 four-byte characters: under the limit in characters, over it in bytes.
    frame = {
        "type": "message:send",
        "ref": "emoji",
        "data": {"chat_id": str(chat.id), "client_id": "e", "text": "😀" * 20_000},
    }
    await client.ws.send_to(text_data=json.dumps(frame, ensure_ascii=False))
    assert (await client.receive_type("error"))["data"]["code"] == "frame_too_large"
    await still_alive(client)
