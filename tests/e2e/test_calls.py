"""Calls end to end: two real WebRTC peers (aiortc) signal through two server processes exactly as a
client would, and connect relay-only through the coturn the fixture started; and a call rung from a
process that is then killed is still missed at its deadline, once."""

import asyncio

import pytest
from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.rtcconfiguration import RTCIceTransportPolicy
from aiortc.sdp import candidate_from_sdp

from tests.e2e.clients import FRAME_TIMEOUT, Account, Socket, direct_chat, http_async, register

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


class Peer:
    """One device in a call: its socket, its RTCPeerConnection, and trickle ICE over the socket.

    aiortc gathers every candidate before createOffer/createAnswer return and writes them into the
    SDP; a browser trickles them. To signal as a browser does, the candidates are cut out of the
    SDP and sent one `call:candidate` at a time (then the end-of-candidates one), and the other
    side adds them with addIceCandidate.
    """

    def __init__(self, socket: Socket, ice_servers: list[dict]) -> None:
        self.socket = socket
        servers = [
            RTCIceServer(urls=server["urls"], username=server.get("username"), credential=server.get("credential"))
            for server in ice_servers
        ]
        relay_only = RTCConfiguration(iceServers=servers, iceTransportPolicy=RTCIceTransportPolicy.RELAY)
        self.pc = RTCPeerConnection(relay_only)

    async def send_description(self, event_type: str, call_id: str, to_session_id: str) -> int:
        """Send the local description without its candidates, then each candidate; returns how many."""
        sdp_lines, candidates, mid, index = [], [], None, -1
        for line in self.pc.localDescription.sdp.splitlines():
            if line.startswith("m="):
                index += 1
            elif line.startswith("a=mid:"):
                mid = line.removeprefix("a=mid:")
            if line.startswith("a=candidate:"):
                candidates.append({"candidate": line.removeprefix("a="), "sdpMid": mid, "sdpMLineIndex": index})
            elif line != "a=end-of-candidates":
                sdp_lines.append(line)
        to = {"call_id": call_id, "to_session_id": to_session_id}
        await self.acked(event_type, {**to, "sdp": "\r\n".join(sdp_lines) + "\r\n"})
        for candidate in [*candidates, {"candidate": "", "sdpMid": mid, "sdpMLineIndex": index}]:
            await self.acked("call:candidate", {**to, "candidate": candidate})
        return len(candidates)

    async def acked(self, event_type: str, data: dict) -> dict:
        reply = await self.socket.request(event_type, data)
        assert reply["type"] == "ack", reply
        return reply["data"]

    async def receive_candidates(self, *, from_session_id: str) -> int:
        """Add the other side's trickled candidates until its end-of-candidates; returns how many."""
        count = 0
        while True:
            data = (await self.socket.receive_type("call:candidate"))["data"]
            assert data["from_session_id"] == from_session_id, data
            candidate = data["candidate"]
            if not candidate["candidate"]:
                await self.pc.addIceCandidate(None)
                return count
            ice = candidate_from_sdp(candidate["candidate"].removeprefix("candidate:"))
            ice.sdpMid, ice.sdpMLineIndex = candidate["sdpMid"], candidate["sdpMLineIndex"]
            await self.pc.addIceCandidate(ice)
            count += 1

    def selected_pair_types(self) -> tuple[str, str]:
        """(local, remote) candidate type of the pair ICE selected. aiortc has no getter for it (a
        browser's getStats() has), so it is read from its ICE connection (aioice)."""
        connection = self.pc.sctp.transport.transport._connection
        (pair,) = connection._nominated.values()
        return pair.local_candidate.type, pair.remote_candidate.type


async def ice_servers(server, account: Account) -> list[dict]:
    status, body = await http_async("GET", f"{server.http_url}/api/v1/calls/ice-servers", token=account.access)
    assert status == 200, body
    return body["ice_servers"]


async def test_two_webrtc_peers_connect_relay_only_through_coturn(cluster, connect, turn_server):
    env = {"STUN_URLS": turn_server.stun_url, "TURN_URLS": turn_server.turn_url}
    env["TURN_SHARED_SECRET"] = turn_server.secret
    server_a, server_b = cluster.start("a", "b", env=env)
    alice, bob = register(server_a, "alice"), register(server_b, "bob")
    chat = direct_chat(server_a, alice, bob)
    caller = Peer(await connect(server_a, alice), await ice_servers(server_a, alice))
    callee = Peer(await connect(server_b, bob), await ice_servers(server_b, bob))
    turn = (await ice_servers(server_b, bob))[1]
    assert turn["urls"] == [turn_server.turn_url] and turn["username"].endswith(f":{bob.id}")
    try:
        # Ring (process a), answer (process b).
        call = (await caller.acked("call:start", {"chat_id": chat["id"], "kind": "audio"}))["call"]
        incoming = (await callee.socket.receive_type("call:incoming"))["data"]
        assert (incoming["call"]["id"], incoming["from_user_id"]) == (call["id"], alice.id)
        answered = (await callee.acked("call:accept", {"call_id": call["id"]}))["call"]
        accepted = (await caller.socket.receive_type("call:accepted"))["data"]
        assert (accepted["user_id"], accepted["session_id"]) == (bob.id, bob.session_id)
        (in_call,) = [p for p in answered["participants"] if p["user_id"] == alice.id]
        assert in_call["session_id"] == alice.session_id

        # The one who answered offers to the one already in the call; each trickles its candidates.
        messages: asyncio.Queue[str] = asyncio.Queue()
        channel = callee.pc.createDataChannel("chat")
        opened = asyncio.Event()
        channel.on("open", opened.set)

        @caller.pc.on("datachannel")
        def on_datachannel(remote) -> None:
            remote.on("message", messages.put_nowait)

        await callee.pc.setLocalDescription(await callee.pc.createOffer())
        sent = await callee.send_description("call:offer", call["id"], alice.session_id)
        offer = (await caller.socket.receive_type("call:offer"))["data"]
        assert (offer["from_user_id"], offer["from_session_id"], offer["to_session_id"]) == (
            bob.id,
            bob.session_id,
            alice.session_id,
        )
        assert "a=candidate" not in offer["sdp"]
        await caller.pc.setRemoteDescription(RTCSessionDescription(sdp=offer["sdp"], type="offer"))
        assert await caller.receive_candidates(from_session_id=bob.session_id) == sent > 0
        await caller.pc.setLocalDescription(await caller.pc.createAnswer())
        sent = await caller.send_description("call:answer", call["id"], bob.session_id)
        answer = (await callee.socket.receive_type("call:answer"))["data"]
        await callee.pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))
        assert await callee.receive_candidates(from_session_id=alice.session_id) == sent > 0

        # Media (here: a data channel) flows between the peers through the TURN relay.
        await asyncio.wait_for(opened.wait(), FRAME_TIMEOUT * 3)
        channel.send("hello through coturn")
        assert await asyncio.wait_for(messages.get(), FRAME_TIMEOUT) == "hello through coturn"
        for peer in (caller, callee):
            assert peer.selected_pair_types() == ("relay", "relay")
        assert f":{alice.id}" in turn_server.log_text() and f":{bob.id}" in turn_server.log_text()

        ref = await caller.socket.send("call:end", {"call_id": call["id"]})
        # The call's message (message:new, recorded by the server) may come before the ack or after.
        frames = [await caller.socket.next_frame(), await caller.socket.next_frame()]
        (reply,) = [frame for frame in frames if frame.get("ref") == ref]
        assert reply["type"] == "ack" and [frame["type"] for frame in frames if frame is not reply] == ["message:new"]
        ended = reply["data"]["call"]
        assert (ended["end_reason"], ended["duration_seconds"] >= 0) == ("completed", True)
        assert (await callee.socket.receive_type("message:new"))["data"]["system"]["reason"] == "completed"
        assert (await callee.socket.receive_type("call:ended"))["data"]["call"] == ended
        status, history = await http_async("GET", f"{server_b.http_url}/api/v1/calls", token=bob.access)
        assert status == 200, history
        (entry,) = history["results"]
        assert (entry["id"], entry["direction"], entry["end_reason"]) == (call["id"], "incoming", "completed")
    finally:
        for peer in (caller, callee):
            await peer.pc.close()


async def test_missed_at_the_deadline_after_the_callers_process_was_killed(cluster, connect):
    env = {"CALL_RING_TIMEOUT_SECONDS": "2", "CALL_DEADLINE_INTERVAL_SECONDS": "0.2"}
    server_a, server_b = cluster.start("a", "b", env=env)
    alice, bob = register(server_a, "alice"), register(server_b, "bob")
    chat = direct_chat(server_a, alice, bob)
    callee = await connect(server_b, bob)
    caller = await connect(server_a, alice)
    call = (await caller.request("call:start", {"chat_id": chat["id"], "kind": "video"}))["data"]["call"]
    assert (await callee.receive_type("call:incoming"))["data"]["call"]["id"] == call["id"]
    server_a.kill()  # the process that started the call, with the caller's socket, is gone

    message = (await callee.receive_type("message:new"))["data"]
    assert (message["kind"], message["system"]["call_id"]) == ("call", call["id"])
    assert message["system"]["reason"] == "missed"
    ended = (await callee.receive_type("call:ended"))["data"]["call"]
    assert (ended["id"], ended["state"], ended["end_reason"]) == (call["id"], "ended", "missed")
    assert await callee.frames_within(1.0) == []  # once
    status, history = await http_async("GET", f"{server_b.http_url}/api/v1/calls?missed=true", token=bob.access)
    assert status == 200 and [entry["id"] for entry in history["results"]] == [call["id"]], history
    assert history["results"][0]["peer"]["id"] == alice.id
