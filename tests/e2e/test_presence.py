"""Presence follows sockets across processes, including when a process is stopped."""

import pytest

from tests.e2e.clients import direct_chat, register

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


async def presence_of(socket, user_id: str, status: str, timeout: float = 3) -> dict:
    """The next presence:update for `user_id` (other frames are not expected here)."""
    frame = await socket.receive(timeout=timeout)
    assert frame == {
        "type": "presence:update",
        "data": {"user_id": user_id, "status": status, "last_seen": frame["data"]["last_seen"]},
    }, frame
    return frame


async def test_stopping_a_process_takes_its_users_offline(cluster, connect):
    server_a, server_b = cluster.start("a", "b")
    alice, bob = register(server_a, "alice"), register(server_b, "bob")
    direct_chat(server_a, alice, bob)
    bob_socket = await connect(server_b, bob)
    assert bob_socket.ready["data"]["online_user_ids"] == []
    await connect(server_a, alice)
    online = await presence_of(bob_socket, alice.id, "online")
    assert online["data"]["last_seen"] is None
    # The snapshot of a new socket sees the other process's sockets.
    assert (await connect(server_b, bob)).ready["data"]["online_user_ids"] == [alice.id]

    assert server_a.stop(), "daphne did not exit on SIGTERM within the bound"
    # Either the stopping process cleans up, or the survivor reaps it once its heartbeat is
    # PRESENCE_STALE_AFTER_SECONDS (3 s here) old.
    offline = await presence_of(bob_socket, alice.id, "offline", timeout=10)
    assert offline["data"]["last_seen"] is not None
