"""A server process restart loses nothing: a client resumes from its cursor with sync:request."""

import pytest
from django.conf import settings

from tests.e2e.clients import direct_chat, register

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

QUIET_SECONDS = settings.STREAM_POLL_INTERVAL_SECONDS + 0.5


async def test_restart(cluster, connect):
    server_a, server_b = cluster.start("a", "b")
    alice, bob = register(server_a, "alice"), register(server_b, "bob")
    chat = direct_chat(server_a, alice, bob)
    alice_socket = await connect(server_a, alice)
    bob_socket = await connect(server_b, bob)

    def send_data(n: int) -> dict:
        return {"chat_id": chat["id"], "client_id": f"c{n}", "text": f"message {n}"}

    first = (await alice_socket.request("message:send", send_data(0)))["data"]["message"]
    seen = await bob_socket.receive_type("message:new")
    assert seen == {"type": "message:new", "cursor": seen["cursor"], "data": first}
    last_cursor = seen["cursor"]
    await bob_socket.close()

    missed = []
    for n in range(1, 6):
        ack = await alice_socket.request("message:send", send_data(n))
        assert ack["data"]["duplicate"] is False, ack
        missed.append(ack["data"]["message"])
    assert [message["seq"] for message in missed] == [2, 3, 4, 5, 6]

    assert server_a.restart(), "daphne did not exit on SIGTERM within the bound"
    bob_socket = await connect(server_a, bob)
    ref = await bob_socket.send("sync:request", {"cursor": last_cursor})
    replayed = [await bob_socket.receive_type("message:new") for _ in missed]
    assert replayed == [
        {"type": "message:new", "cursor": frame["cursor"], "data": message}
        for frame, message in zip(replayed, missed, strict=True)
    ]
    cursors = [frame["cursor"] for frame in replayed]
    assert cursors == sorted(set(cursors)), cursors
    assert last_cursor < cursors[0] and cursors[-1] <= bob_socket.cursor
    done = await bob_socket.receive_type("sync:done")
    assert done == {"type": "sync:done", "data": {"cursor": bob_socket.cursor, "has_more": False}}
    assert await bob_socket.reply(ref) == {"type": "ack", "ref": ref, "data": done["data"]}

    # Live delivery into the restarted process, of a message written on the other one.
    alice_socket = await connect(server_b, alice)
    live = (await alice_socket.request("message:send", send_data(6)))["data"]["message"]
    assert live["seq"] == 7
    frame = await bob_socket.receive_type("message:new")
    assert frame == {"type": "message:new", "cursor": frame["cursor"], "data": live}
    assert frame["cursor"] > done["data"]["cursor"]
    assert await bob_socket.frames_within(QUIET_SECONDS) == []
