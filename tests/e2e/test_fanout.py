"""Messages cross server processes: written on one, delivered live by another, once and in order."""

import pytest
from django.conf import settings

from tests.e2e.clients import direct_chat, http_async, register

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Long enough for a stray duplicate to show: the dispatchers also poll at this interval.
QUIET_SECONDS = settings.STREAM_POLL_INTERVAL_SECONDS + 0.5


def message_new(frame: dict, message: dict) -> dict:
    """The whole message:new frame that `frame` must be for `message` (its cursor checked apart)."""
    assert isinstance(frame.get("cursor"), int), frame
    return {"type": "message:new", "cursor": frame["cursor"], "data": message}


async def test_two_processes(cluster, connect):
    server_a, server_b = cluster.start("a", "b")
    alice, bob = register(server_a, "alice"), register(server_b, "bob")
    chat = direct_chat(server_a, alice, bob)
    alice_socket = await connect(server_a, alice)
    bob_socket = await connect(server_b, bob)

    # Pipelined, as a client flushing its outbox after a reconnect does.
    refs = [
        await alice_socket.send("message:send", {"chat_id": chat["id"], "client_id": f"c{n}", "text": f"hello {n}"})
        for n in range(1, 21)
    ]
    # reply() takes the very next frame (presence aside): the sender gets acks, never its own messages echoed.
    acks = [await alice_socket.reply(ref) for ref in refs]
    sent = []
    for n, (ref, ack) in enumerate(zip(refs, acks, strict=True), start=1):
        message = ack["data"]["message"]
        assert ack == {"type": "ack", "ref": ref, "data": {"message": message, "duplicate": False}}
        assert (message["seq"], message["client_id"], message["text"]) == (n, f"c{n}", f"hello {n}")
        assert (message["chat_id"], message["sender_id"]) == (chat["id"], alice.id)
        sent.append(message)

    received = [await bob_socket.receive_type("message:new") for _ in sent]
    assert received == [message_new(frame, message) for frame, message in zip(received, sent, strict=True)]
    cursors = [frame["cursor"] for frame in received]
    assert cursors == sorted(set(cursors)), cursors
    assert cursors[0] > bob_socket.cursor
    assert await bob_socket.frames_within(QUIET_SECONDS) == []

    reply_ack = await bob_socket.request("message:send", {"chat_id": chat["id"], "client_id": "b1", "text": "hi alice"})
    reply = reply_ack["data"]["message"]
    assert reply_ack["data"]["duplicate"] is False
    assert (reply["seq"], reply["sender_id"], reply["text"]) == (21, bob.id, "hi alice")
    frame = await alice_socket.receive_type("message:new")
    assert frame == message_new(frame, reply)
    assert frame["cursor"] > cursors[-1]
    assert await alice_socket.frames_within(QUIET_SECONDS) == []


async def test_http_and_ws_agree(cluster, connect):
    server_a, server_b = cluster.start("a", "b")
    alice, bob = register(server_a, "alice"), register(server_a, "bob")
    chat = direct_chat(server_a, alice, bob)
    bob_socket = await connect(server_a, bob)
    alice_other_device = await connect(server_a, alice)

    status, message = await http_async(
        "POST",
        f"{server_b.http_url}/api/v1/chats/{chat['id']}/messages",
        token=alice.access,
        body={"client_id": "rest-1", "text": "sent over REST"},
    )
    assert status == 201, message
    assert (message["seq"], message["sender_id"], message["text"]) == (1, alice.id, "sent over REST")

    to_bob = await bob_socket.receive_type("message:new")
    assert to_bob == message_new(to_bob, message)
    # A REST write has no origin socket, so the sender's own sockets get the event as well.
    to_alice = await alice_other_device.receive_type("message:new")
    assert to_alice == to_bob

    status, history = await http_async(
        "GET", f"{server_a.http_url}/api/v1/chats/{chat['id']}/messages", token=bob.access
    )
    assert (status, history) == (200, {"results": [message], "has_more": False})
    assert await bob_socket.frames_within(QUIET_SECONDS) == []
