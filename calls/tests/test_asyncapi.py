"""docs/asyncapi.yaml against the calls app: every call frame type and error code the document lists
is sent by the server and matches it (chats/tests/test_asyncapi.py checks the document as a whole)."""

import pytest
from channels.db import database_sync_to_async

from calls.tests.event_types import CALL_DURABLE_EVENT_TYPES, CALL_EPHEMERAL_EVENT_TYPES, CALL_ERROR_CODES
from chats.models import Chat
from chats.tests.asyncapi import validate_reply
from chats.tests.factories import direct_chat, group_chat
from chats.tests.ws import connect

db = database_sync_to_async
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio, pytest.mark.usefixtures("ws_cleanup")]


async def test_each_call_frame_and_error_code_is_sent_as_documented(alice, bob, carol, settings):
    settings.CALL_MAX_PARTICIPANTS = 2
    seen: set[str] = set()
    codes: set[str] = set()

    async def call(client, event_type: str, data: dict) -> dict:
        reply = await client.request(event_type, data)
        validate_reply(event_type, reply)
        assert reply["type"] == "ack", reply
        return reply["data"]

    async def fails(client, code: str, event_type: str, data: dict) -> None:
        reply = await client.request(event_type, data)
        validate_reply(event_type, reply)
        assert reply["type"] == "error" and reply["data"]["code"] == code, reply
        codes.add(code)

    async def expect(client, event_type: str) -> dict:
        frame = await client.receive_type(event_type)
        seen.add(event_type)
        return frame["data"]

    direct = await db(direct_chat)(alice, bob)
    group = await db(group_chat)(alice, [bob, carol])
    channel = await db(group_chat)(alice, [bob], type=Chat.Type.CHANNEL)
    a, b, c = await connect(alice), await connect(bob), await connect(carol)
    b2 = await connect(bob, device="tablet")
    c2 = await connect(carol, device="tablet")

    one = (await call(a, "call:start", {"chat_id": str(direct.id), "kind": "video"}))["call"]
    for client in (b, b2):
        await expect(client, "call:incoming")
    await fails(b, "call_in_progress", "call:start", {"chat_id": str(direct.id), "kind": "audio"})
    await call(b, "call:accept", {"call_id": one["id"]})
    await expect(a, "call:accepted")
    await fails(b2, "call_already_joined", "call:accept", {"call_id": one["id"]})
    to_b = {"call_id": one["id"], "to_session_id": b.ready["data"]["session_id"]}
    to_a = {"call_id": one["id"], "to_session_id": a.ready["data"]["session_id"]}
    await call(a, "call:offer", {**to_b, "sdp": "v=0\r\n"})
    await expect(b, "call:offer")
    await call(b, "call:answer", {**to_a, "sdp": "v=0\r\n"})
    await expect(a, "call:answer")
    await call(b, "call:candidate", {**to_a, "candidate": {"candidate": "", "sdpMid": "0"}})
    await expect(a, "call:candidate")
    await call(a, "call:end", {"call_id": one["id"]})
    await expect(b, "message:new")
    await expect(b, "call:ended")
    await fails(b, "call_ended", "call:accept", {"call_id": one["id"]})

    two = (await call(a, "call:start", {"chat_id": str(group.id), "kind": "audio"}))["call"]
    for client in (b, c, c2):
        await expect(client, "call:incoming")
    await call(b, "call:join", {"call_id": two["id"]})
    await expect(a, "call:participant_joined")
    await fails(c, "call_full", "call:join", {"call_id": two["id"]})
    await call(c, "call:reject", {"call_id": two["id"]})
    await expect(c2, "call:rejected")
    await call(b, "call:leave", {"call_id": two["id"]})
    await expect(a, "call:participant_left")
    await call(a, "call:leave", {"call_id": two["id"]})
    await fails(a, "call_not_allowed", "call:start", {"chat_id": str(channel.id), "kind": "audio"})

    assert seen >= CALL_DURABLE_EVENT_TYPES | CALL_EPHEMERAL_EVENT_TYPES
    assert codes == CALL_ERROR_CODES
