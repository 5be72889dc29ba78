"""The WebSocket handshake refuses every hostile token; an open socket lives as long as its session.

Through the ASGI app with WebsocketCommunicator; tests/e2e/test_tokens.py does the same against
real server processes.
"""

import asyncio
import json
import time
from datetime import timedelta
from urllib.parse import quote

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from rest_framework.test import APIClient

from accounts.services import session_create, ws_ticket_issue
from accounts.tests.factories import UserFactory
from accounts.tests.jwt_forge import CONFIGS, hostile_access_tokens, victim_sessions
from accounts.tokens import AccessToken
from chats.tests.asyncapi import validate_server_frame
from chats.tests.ws import OPEN, TIMEOUT, Client, close_all, connect, refused
from messenger.asgi import application

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]
db = database_sync_to_async
# The README's promise: a revoked session's sockets are closed within a second.
REVOCATION_CLOSE_SECONDS = 1.0


@pytest.fixture(autouse=True)
async def ws_cleanup():
    yield
    await close_all()


def bearer(token: str) -> list[tuple[bytes, bytes]]:
    return [(b"authorization", f"Bearer {token}".encode())]


async def rest(method: str, path: str, *, token: str | None = None, body: dict | None = None):
    def call():
        client = APIClient()
        if token is not None:
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        return getattr(client, method)(path, body, format="json")

    return await db(call)()


async def close_code_within(client: Client, seconds: float) -> int:
    """The close code the server sends within `seconds` (frames before it are checked and skipped)."""
    deadline = time.monotonic() + seconds
    while True:
        output = await client.ws.receive_output(timeout=max(deadline - time.monotonic(), 0.001))
        if output["type"] == "websocket.close":
            return output["code"]
        validate_server_frame(json.loads(output["text"]))


async def connect_with_ticket(ticket: str) -> Client:
    communicator = WebsocketCommunicator(application, f"/ws/?ticket={ticket}")
    connected, code = await communicator.connect(timeout=TIMEOUT)
    assert connected, code
    client = Client(communicator)
    OPEN.append(client)  # closed by close_all()
    client.ready = await client.receive_type("ready")
    return client


async def assert_serving(client: Client) -> None:
    ref = await client.send("ping")
    assert (await client.receive_type("pong"))["data"]["server_time"]
    assert await client.reply(ref) == {"type": "ack", "ref": ref, "data": {}}


@pytest.mark.parametrize("config", CONFIGS, ids=lambda make: make().name)
async def test_hostile_tokens_are_refused_at_the_handshake(config, settings):
    config().apply(settings)
    user = await db(UserFactory)()
    session, pair, other_session, revoked_session = await db(victim_sessions)(user)
    hostile = await db(hostile_access_tokens)(
        session=session, other_session=other_session, revoked_session=revoked_session
    )
    seen = {}
    for token in hostile:
        # In the header, and where a browser puts its credentials: a JWT is never a ticket.
        seen[token.name] = (
            await refused(headers=bearer(token.token)),
            await refused(f"/ws/?ticket={quote(token.token)}"),
        )
    assert seen == {token.name: (True, True) for token in hostile}
    await assert_serving(await connect(token=pair.access))


async def test_a_ticket_is_refused_once_its_session_is_revoked():
    user = await db(UserFactory)()
    _session, pair = await db(session_create)(user=user)
    ticket = (await rest("post", "/api/v1/auth/ws-ticket", token=pair.access)).json()["ticket"]
    assert (await rest("post", "/api/v1/auth/logout", token=pair.access)).status_code == 204
    assert await refused(f"/ws/?ticket={ticket}")


async def test_a_bad_header_is_not_rescued_by_a_good_ticket():
    """The header takes precedence: a refused header refuses the handshake, and the ticket is not spent."""
    user = await db(UserFactory)()
    session, _ = await db(session_create)(user=user)
    ticket = await db(ws_ticket_issue)(session=session)
    assert await refused(f"/ws/?ticket={ticket}", headers=bearer("not-a-jwt"))
    await assert_serving(await connect_with_ticket(ticket))


async def test_a_socket_outlives_its_access_token_while_the_session_lives(settings):
    """The documented rule (README "Authentication and sessions", docs/asyncapi.yaml)."""
    settings.JWT_LEEWAY_SECONDS = 0
    user = await db(UserFactory)()
    session, pair = await db(session_create)(user=user)
    short = AccessToken()
    short["sub"], short["sid"] = str(user.id), str(session.id)
    short.set_exp(lifetime=timedelta(seconds=2))
    client = await connect(token=str(short))

    # Wait until the token has expired for REST (bounded: it lives two seconds at most).
    for _ in range(50):
        response = await rest("get", "/api/v1/users/me", token=str(short))
        if response.status_code == 401:
            break
        await asyncio.sleep(0.1)
    assert (response.status_code, response.json()["code"]) == (401, "token_not_valid")
    assert await refused(headers=bearer(str(short)))  # nor does it open a new socket

    await assert_serving(client)  # the open socket is unaffected
    assert (await rest("post", "/api/v1/auth/logout", token=pair.access)).status_code == 204
    assert await close_code_within(client, REVOCATION_CLOSE_SECONDS) == 4401


async def _logout(*, victim_pair, other_pair, victim_session, settings) -> None:
    assert (await rest("post", "/api/v1/auth/logout", token=victim_pair.access)).status_code == 204


async def _revoke_from_another_device(*, victim_pair, other_pair, victim_session, settings) -> None:
    response = await rest("delete", f"/api/v1/auth/sessions/{victim_session.id}", token=other_pair.access)
    assert response.status_code == 204


async def _reuse_a_rotated_refresh_token(*, victim_pair, other_pair, victim_session, settings) -> None:
    settings.REFRESH_REUSE_GRACE_SECONDS = 0  # any later presentation is reuse
    assert (await rest("post", "/api/v1/auth/refresh", body={"refresh": victim_pair.refresh})).status_code == 200
    reused = await rest("post", "/api/v1/auth/refresh", body={"refresh": victim_pair.refresh})
    assert reused.json()["code"] == "refresh_token_reused"


@pytest.mark.parametrize(
    "revoke",
    [_logout, _revoke_from_another_device, _reuse_a_rotated_refresh_token],
    ids=["logout", "revoked from another device", "refresh token reuse"],
)
async def test_revoking_a_session_closes_its_sockets_within_a_second(revoke, settings):
    user = await db(UserFactory)()
    victim_session, victim_pair = await db(session_create)(user=user, device_name="phone")
    _other_session, other_pair = await db(session_create)(user=user, device_name="laptop")
    by_header = await connect(token=victim_pair.access)
    ticket = (await rest("post", "/api/v1/auth/ws-ticket", token=victim_pair.access)).json()["ticket"]
    by_ticket = await connect_with_ticket(ticket)
    other_device = await connect(token=other_pair.access)

    await revoke(victim_pair=victim_pair, other_pair=other_pair, victim_session=victim_session, settings=settings)
    assert await close_code_within(by_header, REVOCATION_CLOSE_SECONDS) == 4401
    assert await close_code_within(by_ticket, REVOCATION_CLOSE_SECONDS) == 4401
    await assert_serving(other_device)
    assert await refused(headers=bearer(victim_pair.access))
