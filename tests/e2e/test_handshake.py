"""The real server refuses unauthenticated and cross-site WebSocket handshakes with HTTP 403, and logs why."""

import pytest
from websockets.exceptions import InvalidStatus

from tests.e2e.clients import open_connection, register

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


async def refused_status(ws_url: str, *, access: str | None, origin: str | None = None) -> int:
    with pytest.raises(InvalidStatus) as refused:
        connection = await open_connection(ws_url, access=access, origin=origin)
        await connection.close()  # only reached when the handshake was wrongly accepted
    return refused.value.response.status_code


async def test_handshake_refusals_on_real_server(cluster, connect):
    (server,) = cluster.start("a")
    alice = register(server, "alice")

    assert await refused_status(server.ws_url, access=None) == 403
    assert await refused_status(server.ws_url, access="not-a-token") == 403
    assert await refused_status(server.ws_url, access=alice.access, origin="https://evil.example") == 403

    # Each refusal is one line of the server's log, with its reason and without the credentials.
    log = server.log_text()
    refusals = [line.split(" refused: ", 1)[1] for line in log.splitlines() if "WebSocket handshake from" in line]
    assert refusals == [
        "no credentials (neither Authorization: Bearer nor ?ticket=)",
        "invalid or expired access token",
        f"Origin 'https://evil.example' is neither in DJANGO_ALLOWED_ORIGINS nor this server's own"
        f" (Host '127.0.0.1:{server.port}')",
    ]
    assert "not-a-token" not in log and alice.access not in log

    # The allowed origin gets a socket whose first frame is `ready` (checked by connect).
    socket = await connect(server, alice, origin=server.origin)
    await socket.ping()
