"""Calls over the socket (WebsocketCommunicator): whole frames, who gets them and who does not.

Every frame received here is checked against docs/asyncapi.yaml by chats.tests.ws.
"""

import uuid

import pytest
from channels.db import database_sync_to_async

from accounts.models import Block
from accounts.services import session_create
from chats.tests.factories import direct_chat, group_chat
from chats.tests.ws import connect

db = database_sync_to_async
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio, pytest.mark.usefixtures("ws_cleanup")]


async def device(user, name: str = "phone"):
    """A socket of a new device session, and that session's access token (to reconnect with it)."""
    _, pair = await db(session_create)(user=user, device_name=name)
    return await connect(token=pair.access), pair.access


def session_of(client) -> str:
    return client.ready["data"]["session_id"]


async def acked(client, event_type: str, data: dict) -> dict:
    frame = await client.request(event_type, data)
    assert frame["type"] == "ack", frame
    return frame["data"]


async def failed(client, event_type: str, data: dict) -> dict:
    frame = await client.request(event_type, data)
    assert frame["type"] == "error", frame
    return frame["data"]


async def start(client, chat, kind: str = "audio") -> dict:
    return (await acked(client, "call:start", {"chat_id": str(chat.id), "kind": kind}))["call"]


def call_ref(call: dict) -> dict:
    return {"call_id": call["id"]}


class TestRinging:
    async def test_accept_on_one_of_two_devices_stops_the_other(self, alice, bob):
        chat = await db(direct_chat)(alice, bob)
        caller, laptop = await connect(alice), await connect(alice, device="laptop")
        (phone, _), (tablet, _) = await device(bob, "phone"), await device(bob, "tablet")
        call = await start(caller, chat, "video")
        assert (call["state"], call["kind"], call["participants"][0]["session_id"]) == (
            "ringing",
            "video",
            session_of(caller),
        )
        for client in (phone, tablet, laptop):  # the caller's other device learns of it too
            incoming = await client.receive_type("call:incoming")
            assert incoming["data"] == {"call": call, "from_user_id": str(alice.id)}
        assert await caller.nothing()  # it got the ack instead

        answered = (await acked(phone, "call:accept", call_ref(call)))["call"]
        assert answered["state"] == "active" and answered["answered_at"]
        for client in (caller, laptop, tablet):
            accepted = await client.receive_type("call:accepted")
            assert accepted["data"] == {"call": answered, "user_id": str(bob.id), "session_id": session_of(phone)}
        assert await phone.nothing()
        refused = await failed(tablet, "call:accept", call_ref(call))
        assert refused == {
            "code": "call_already_joined",
            "message": refused["message"],
            "details": {"call_id": call["id"]},
        }

    async def test_reject_ends_it_for_the_caller_with_a_call_message(self, alice, bob):
        chat = await db(direct_chat)(alice, bob)
        caller, callee = await connect(alice), await connect(bob)
        call = await start(caller, chat)
        await callee.receive_type("call:incoming")
        ended = (await acked(callee, "call:reject", call_ref(call)))["call"]
        assert (ended["state"], ended["end_reason"], ended["duration_seconds"]) == ("ended", "rejected", 0)
        message = (await caller.receive_type("message:new"))["data"]
        assert (message["kind"], message["sender_id"]) == ("call", str(alice.id))
        assert message["system"]["reason"] == "rejected"
        assert (await caller.receive_type("call:ended"))["data"] == {"call": ended}
        # The rejecting socket got the ack instead of call:ended (its message:new may come either side of it).
        assert "call:ended" not in [frame["type"] for frame in await callee.collect()]

    async def test_the_caller_cancels_while_it_rings(self, alice, bob):
        chat = await db(direct_chat)(alice, bob)
        caller, callee = await connect(alice), await connect(bob)
        call = await start(caller, chat)
        await callee.receive_type("call:incoming")
        assert (await acked(caller, "call:end", call_ref(call)))["call"]["end_reason"] == "cancelled"
        await callee.receive_type("message:new")
        assert (await callee.receive_type("call:ended"))["data"]["call"]["end_reason"] == "cancelled"
        assert (await acked(caller, "call:end", call_ref(call)))["call"]["end_reason"] == "cancelled"  # again: same
        assert await callee.nothing()

    async def test_a_busy_callee_is_not_rung(self, alice, bob, carol):
        bob_chat, carol_chat = await db(direct_chat)(alice, bob), await db(direct_chat)(carol, bob)
        alice_socket, bob_socket, carol_socket = await connect(alice), await connect(bob), await connect(carol)
        await start(carol_socket, carol_chat)
        await bob_socket.receive_type("call:incoming")
        busy = await start(alice_socket, bob_chat)
        assert (busy["state"], busy["end_reason"]) == ("ended", "busy")
        assert (await bob_socket.receive_type("message:new"))["data"]["system"]["reason"] == "busy"
        assert (await bob_socket.receive_type("call:ended"))["data"]["call"] == busy
        assert await bob_socket.nothing()

    async def test_a_blocked_caller_is_refused(self, alice, bob):
        chat = await db(direct_chat)(alice, bob)
        await db(Block.objects.create)(blocker=bob, blocked=alice)
        caller, callee = await connect(alice), await connect(bob)
        error = await failed(caller, "call:start", {"chat_id": str(chat.id), "kind": "audio"})
        assert (error["code"], error["details"]) == ("blocked", {})
        assert await callee.nothing()

    async def test_missed_at_the_deadline_though_the_caller_is_gone(self, alice, bob, settings):
        settings.CALL_RING_TIMEOUT_SECONDS = 1
        settings.CALL_DEADLINE_INTERVAL_SECONDS = 0.1
        chat = await db(direct_chat)(alice, bob)
        callee = await connect(bob)
        caller = await connect(alice)
        call = await start(caller, chat)
        await caller.close()
        await callee.receive_type("call:incoming")
        assert (await callee.receive_type("message:new"))["data"]["system"]["reason"] == "missed"
        ended = (await callee.receive_type("call:ended"))["data"]["call"]
        assert (ended["id"], ended["end_reason"]) == (call["id"], "missed")
        assert await callee.nothing(0.5)  # once

    async def test_ready_lists_the_call_ringing_for_a_device_that_connects(self, alice, bob):
        chat = await db(direct_chat)(alice, bob)
        call = await start(await connect(alice), chat)
        late = await connect(bob, device="late")
        assert late.ready["data"]["calls"] == [call]
        assert (await acked(late, "call:accept", call_ref(call)))["call"]["state"] == "active"


class TestReconnect:
    async def test_back_within_the_grace_period_it_reattaches_and_after_it_leaves(self, alice, bob, settings):
        settings.CALL_RECONNECT_GRACE_SECONDS = 1
        settings.CALL_DEADLINE_INTERVAL_SECONDS = 0.1
        chat = await db(direct_chat)(alice, bob)
        caller = await connect(alice)
        callee, token = await device(bob)
        call = await start(caller, chat)
        await acked(callee, "call:accept", call_ref(call))
        await caller.receive_type("call:accepted")

        await callee.close()
        callee = await connect(token=token)  # the same device session, within the grace period
        (listed,) = callee.ready["data"]["calls"]
        assert (listed["id"], listed["state"]) == (call["id"], "active")
        reattached = (await acked(callee, "call:join", call_ref(call)))["call"]
        assert [p["session_id"] for p in reattached["participants"] if p["left_at"] is None] == [
            session_of(caller),
            session_of(callee),
        ]
        assert await caller.nothing(1.5)  # past the grace period it is still in the call

        await callee.close()  # and now it stays away
        assert (await caller.receive_type("message:new"))["data"]["system"]["reason"] == "disconnected"
        ended = (await caller.receive_type("call:ended"))["data"]["call"]
        assert (ended["end_reason"], ended["duration_seconds"] >= 0) == ("disconnected", True)


class TestGroupCalls:
    async def test_join_leave_full_and_decline(self, alice, bob, carol, dave, settings):
        settings.CALL_MAX_PARTICIPANTS = 3
        group = await db(group_chat)(alice, [bob, carol, dave])
        a, b, c, d = [await connect(user) for user in (alice, bob, carol, dave)]
        d2 = await connect(dave, device="tablet")
        call = await start(a, group, "video")
        for client in (b, c, d, d2):
            assert (await client.receive_type("call:incoming"))["data"]["call"]["chat_type"] == "group"

        await acked(b, "call:accept", call_ref(call))
        assert (await a.receive_type("call:accepted"))["data"]["user_id"] == str(bob.id)
        joined = (await acked(c, "call:join", call_ref(call)))["call"]
        assert len([p for p in joined["participants"] if p["left_at"] is None]) == 3
        for client in (a, b):
            data = (await client.receive_type("call:participant_joined"))["data"]
            assert data == {"call_id": call["id"], "user_id": str(carol.id), "session_id": session_of(c)}
        full = await failed(d, "call:join", call_ref(call))
        assert (full["code"], full["details"]) == ("call_full", {"max_participants": 3})
        declined = (await acked(d, "call:reject", call_ref(call)))["call"]
        assert declined["state"] == "active"
        assert (await d2.receive_type("call:rejected"))["data"] == {"call": declined, "user_id": str(dave.id)}
        assert all([await client.nothing() for client in (a, b, c, d)])

        await acked(b, "call:leave", call_ref(call))
        for client in (a, c):
            assert (await client.receive_type("call:participant_left"))["data"]["user_id"] == str(bob.id)
        await acked(a, "call:end", call_ref(call))  # in a group: leave
        await c.receive_type("call:participant_left")
        ended = (await acked(c, "call:leave", call_ref(call)))["call"]
        assert (ended["state"], ended["end_reason"]) == ("ended", "completed")
        for client in (a, b, d, d2):
            await client.receive_type("message:new")
            assert (await client.receive_type("call:ended"))["data"] == {"call": ended}


class TestSignaling:
    async def _answered_call(self, alice, bob, carol):
        """A group call of alice (her socket) and bob (his phone); bob's tablet and carol are not in it."""
        group = await db(group_chat)(alice, [bob, carol])
        a, phone, c = await connect(alice), await connect(bob), await connect(carol)
        tablet = await connect(bob, device="tablet")
        call = await start(a, group)
        await acked(phone, "call:accept", call_ref(call))
        for client in (phone, tablet, c):
            await client.collect()
        await a.receive_type("call:accepted")
        await tablet.collect()
        return call, a, phone, tablet, c

    async def test_a_participants_frames_reach_only_the_addressed_session(self, alice, bob, carol):
        call, a, phone, tablet, c = await self._answered_call(alice, bob, carol)
        to_phone = {"call_id": call["id"], "to_session_id": session_of(phone)}
        offer = {**to_phone, "sdp": "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"}
        assert await acked(a, "call:offer", offer) == {}
        received = await phone.receive_type("call:offer")
        assert received["data"] == {**offer, "from_user_id": str(alice.id), "from_session_id": session_of(a)}
        answer = {"call_id": call["id"], "to_session_id": session_of(a), "sdp": "v=0\r\n"}
        await acked(phone, "call:answer", answer)
        assert (await a.receive_type("call:answer"))["data"]["from_session_id"] == session_of(phone)
        candidate = {"candidate": "candidate:1 1 UDP 2122252543 192.0.2.10 54400 typ host", "sdpMLineIndex": 0}
        await acked(a, "call:candidate", {**to_phone, "candidate": candidate})
        relayed = (await phone.receive_type("call:candidate"))["data"]["candidate"]
        assert relayed == {**candidate, "sdpMid": None, "usernameFragment": None}
        end_of_candidates = {"candidate": "", "sdpMid": "0"}
        await acked(a, "call:candidate", {**to_phone, "candidate": end_of_candidates})
        assert (await phone.receive_type("call:candidate"))["data"]["candidate"]["candidate"] == ""
        assert all([await client.nothing() for client in (a, phone, tablet, c)])

    async def test_frames_outside_the_call_are_refused_and_never_seen(self, alice, bob, carol):
        call, a, phone, tablet, c = await self._answered_call(alice, bob, carol)

        def offer(to: str, call_id: str = call["id"]) -> dict:
            return {"call_id": call_id, "to_session_id": to, "sdp": "v=0\r\n"}

        refusals = [
            (c, offer(session_of(a))),  # a member who is not in the call
            (tablet, offer(session_of(a))),  # the participant's other device
            (a, offer(session_of(tablet))),  # to a session that is not in the call
            (a, offer(session_of(a))),  # to itself
            (a, offer(str(uuid.uuid4()))),  # to no session at all
            (a, offer(session_of(phone), call_id=str(uuid.uuid4()))),  # an unknown call
        ]
        for sender, data in refusals:
            error = await failed(sender, "call:offer", data)
            assert (error["code"], error["details"]) == ("not_found", {}), data
        await acked(a, "call:end", call_ref(call))
        await acked(phone, "call:end", call_ref(call))  # the last one out ends it
        await a.collect()
        assert (await failed(a, "call:offer", offer(session_of(phone))))["code"] == "not_found"  # ended
        for client in (a, phone, tablet, c):
            assert not [f for f in await client.collect() if f["type"].startswith("call:offer")]

    async def test_oversized_or_malformed_signaling_is_a_validation_error(self, alice, bob, carol, settings):
        call, a, phone, _, _ = await self._answered_call(alice, bob, carol)
        to = {"call_id": call["id"], "to_session_id": session_of(phone)}
        largest = "v" * settings.CALL_SDP_MAX_BYTES
        assert await acked(a, "call:offer", {**to, "sdp": largest}) == {}
        assert len((await phone.receive_type("call:offer"))["data"]["sdp"]) == settings.CALL_SDP_MAX_BYTES
        too_large = await failed(a, "call:offer", {**to, "sdp": largest[:-1] + "é"})  # one byte over
        assert (too_large["code"], list(too_large["details"])) == ("validation_error", ["sdp"])
        line = "c" * (settings.CALL_CANDIDATE_MAX_BYTES + 1)
        wrong = [
            ("call:candidate", {**to, "candidate": {"candidate": line, "sdpMid": "0"}}, ["candidate"]),
            ("call:candidate", {**to, "candidate": {"candidate": "candidate:1 1 UDP 1 192.0.2.1 5"}}, ["candidate"]),
            ("call:candidate", {**to, "candidate": "candidate:1"}, ["candidate"]),
            ("call:answer", {**to, "sdp": ""}, ["sdp"]),
            ("call:answer", {"call_id": "x", "sdp": 5}, ["call_id", "to_session_id", "sdp"]),
        ]
        for event_type, data, fields in wrong:
            error = await failed(a, event_type, data)
            assert (error["code"], sorted(error["details"])) == ("validation_error", sorted(fields)), data
        assert await phone.nothing()

    async def test_signaling_counts_against_the_sockets_rate_limit(self, alice, bob, carol, settings):
        call, _, phone, _, _ = await self._answered_call(alice, bob, carol)
        settings.WS_RATE_LIMIT_BURST, settings.WS_RATE_LIMIT_PER_SECOND = 3, 0
        limited = await connect(alice, device="limited")
        to = {"call_id": call["id"], "to_session_id": session_of(phone), "sdp": "v=0\r\n"}
        replies = [await limited.request("call:offer", to) for _ in range(4)]
        assert [reply["data"].get("code") for reply in replies] == ["not_found"] * 3 + ["rate_limited"]


class TestReplay:
    async def test_call_events_replay_through_sync_request(self, alice, bob):
        chat = await db(direct_chat)(alice, bob)
        bob_socket = await connect(bob)
        cursor = bob_socket.ready["data"]["cursor"]
        caller = await connect(alice)
        call = await start(caller, chat)
        await acked(bob_socket, "call:accept", call_ref(call))
        await acked(caller, "call:end", call_ref(call))
        tablet = await connect(bob, device="tablet")
        assert tablet.ready["data"]["calls"] == []
        await tablet.send("sync:request", {"cursor": cursor})
        replayed = []
        while (frame := await tablet.receive())["type"] != "sync:done":
            replayed.append(frame)
        assert [frame["type"] for frame in replayed] == ["call:incoming", "call:accepted", "message:new", "call:ended"]
        assert {frame["data"]["call"]["id"] for frame in replayed if frame["type"].startswith("call:")} == {call["id"]}
        assert replayed[-1]["data"]["call"]["end_reason"] == "completed"
