"""Sockets survive quiet periods: nothing but client traffic decides when a socket closes."""

import asyncio

import pytest
from channels_redis.core import RedisChannelLayer

from tests.e2e.clients import direct_chat, register

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Longer than one blocking read of the channel layer, which is where an idle process waits.
IDLE_SECONDS = RedisChannelLayer.brpop_timeout + 2


async def test_idle_sockets_stay_open(cluster, connect):
    server_a, server_b = cluster.start("a", "b")
    alice, bob = register(server_a, "alice"), register(server_b, "bob")
    chat = direct_chat(server_a, alice, bob)
    bob_socket = await connect(server_b, bob)
    alice_socket = await connect(server_a, alice)

    await asyncio.sleep(IDLE_SECONDS)
    await alice_socket.ping()
    await bob_socket.ping()

    # Both paths between the processes still work: the channel layer (typing) and the stream.
    typing_ack = await alice_socket.request("typing:start", {"chat_id": chat["id"]})
    assert typing_ack == {"type": "ack", "ref": typing_ack["ref"], "data": {}}
    assert await bob_socket.receive_type("typing:start", timeout=3) == {
        "type": "typing:start",
        "data": {"chat_id": chat["id"], "user_id": alice.id},
    }
    ack = await alice_socket.request("message:send", {"chat_id": chat["id"], "client_id": "c1", "text": "still here"})
    frame = await bob_socket.receive_type("message:new", timeout=3)
    assert frame == {"type": "message:new", "cursor": frame["cursor"], "data": ack["data"]["message"]}
