"""The WebSocket handshake's gate (messenger/ws_handshake.py, accounts/ws_auth.py): Origins, and refusal logs."""

import logging

import pytest
from channels.db import database_sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator

from accounts.services import session_create, session_revoke, ws_ticket_issue
from accounts.tests.factories import UserFactory
from chats.tests.ws import close_all, connect, refused
from messenger.asgi import application
from messenger.tests.test_platform import PRODUCTION_ENV, run_manage

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]
db = database_sync_to_async
LOGGER = "messenger.ws_handshake"


@pytest.fixture(autouse=True)
async def sockets():
    yield
    await close_all()


@pytest.fixture
def in_memory_layer(settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest.fixture
def alice(db):
    return UserFactory(username="alice")


def handshake(host: str | None, origin: str | None, **extra: str) -> list[tuple[bytes, bytes]]:
    headers = {"host": host, "origin": origin, **extra}
    return [(name.replace("_", "-").encode(), value.encode()) for name, value in headers.items() if value is not None]


def refusals(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == LOGGER]


class TestOwnOrigin:
    """Outside production the page's own origin passes without being listed (any HOST/PORT)."""

    @pytest.mark.parametrize(
        ("host", "origin"),
        [
            ("127.0.0.1:8700", "http://127.0.0.1:8700"),
            ("localhost:8700", "http://localhost:8700"),
            ("LOCALHOST:8700", "http://localhost:8700"),
            ("localhost", "http://localhost"),
            ("localhost:80", "http://localhost"),
            ("[::1]:8700", "http://[::1]:8700"),
        ],
    )
    async def test_own_origin_on_an_unlisted_port_is_accepted(self, alice, caplog, host, origin):
        caplog.set_level(logging.INFO, logger=LOGGER)
        client = await connect(alice, headers=handshake(host, origin))
        assert client.ready["data"]["user"]["id"] == str(alice.id)
        assert refusals(caplog) == []

    async def test_behind_a_tls_proxy_the_https_origin_is_own(self, alice):
        headers = handshake("localhost:8443", "https://localhost:8443", x_forwarded_proto="https")
        await connect(alice, headers=headers)

    @pytest.mark.parametrize(
        ("headers", "why"),
        [
            # Another port or host of the same machine is another origin.
            (handshake("127.0.0.1:8700", "http://127.0.0.1:8701"), "port"),
            (handshake("127.0.0.1:8700", "http://localhost:8700"), "host"),
            # An https page for a plain socket, or an http page for a TLS one.
            (handshake("127.0.0.1:8700", "https://127.0.0.1:8700"), "scheme"),
            (handshake("127.0.0.1:8700", "http://127.0.0.1:8700", x_forwarded_proto="https"), "scheme"),
            # A site that rebinds its DNS name to this server is same-origin with itself, but its
            # name is not one of ALLOWED_HOSTS.
            (handshake("evil.example:8700", "http://evil.example:8700"), "rebinding"),
            (handshake(None, "http://127.0.0.1:8700"), "no host"),
        ],
    )
    async def test_any_other_origin_is_refused(self, alice, caplog, headers, why):
        caplog.set_level(logging.INFO, logger=LOGGER)
        _session, pair = await db(session_create)(user=alice)
        assert await refused(headers=[(b"authorization", f"Bearer {pair.access}".encode()), *headers]), why
        (message,) = refusals(caplog)
        assert "is neither in DJANGO_ALLOWED_ORIGINS nor this server's own" in message
        assert pair.access not in message

    async def test_production_accepts_only_the_configured_list(self, alice, settings, caplog):
        settings.ALLOW_OWN_ORIGIN = False
        caplog.set_level(logging.INFO, logger=LOGGER)
        assert await refused(headers=handshake("127.0.0.1:8700", "http://127.0.0.1:8700"))
        (message,) = refusals(caplog)
        assert message.endswith("refused: Origin 'http://127.0.0.1:8700' is not in DJANGO_ALLOWED_ORIGINS")
        # Listed origins still pass, whatever the Host.
        await connect(alice, headers=handshake("127.0.0.1:8700", "http://localhost:8000"))

    async def test_production_settings_turn_it_off(self):
        code = "from django.conf import settings; print(settings.ALLOW_OWN_ORIGIN)"
        development = await db(run_manage)("shell", "--no-imports", "-c", code, env={"DJANGO_ENV": "development"})
        production = await db(run_manage)("shell", "--no-imports", "-c", code, env=PRODUCTION_ENV)
        assert (development.stdout.strip(), production.stdout.strip()) == ("True", "False"), production.stderr


class TestRefusalLog:
    """Every refused handshake is logged once, with its reason, never with the credentials."""

    @pytest.mark.parametrize(
        ("path", "headers", "reason"),
        [
            ("/ws/", [], "no credentials (neither Authorization: Bearer nor ?ticket=)"),
            ("/ws/", [(b"authorization", b"Bearer not-a-jwt-secret-123")], "invalid or expired access token"),
            ("/ws/", [(b"authorization", b"Basic not-a-jwt-secret-123")], "no credentials"),
            ("/ws/?ticket=made-up-secret-123", [], "unknown, expired or already used ticket"),
            ("/ws/", [(b"origin", b"http://127.0.0.1:notaport")], "malformed Origin 'http://127.0.0.1:notaport'"),
            ("/ws/", [(b"origin", b"https://evil.example")], "Origin 'https://evil.example' is neither"),
        ],
    )
    async def test_each_refusal_logs_one_line_with_its_reason(self, caplog, path, headers, reason):
        caplog.set_level(logging.INFO, logger=LOGGER)
        assert await refused(path, headers=headers)
        (message,) = refusals(caplog)
        assert message.startswith("WebSocket handshake from ?:? refused: ")  # the communicator has no peer
        assert reason in message
        assert "secret-123" not in message

    async def test_an_ended_session_is_named_not_its_token(self, alice, caplog):
        caplog.set_level(logging.INFO, logger=LOGGER)
        session, pair = await db(session_create)(user=alice)
        await db(session_revoke)(session=session)
        assert await refused(headers=[(b"authorization", f"Bearer {pair.access}".encode())])
        (message,) = refusals(caplog)
        assert message.endswith("refused: the credentials' device session has ended")

    async def test_a_used_ticket_is_logged_without_the_ticket(self, alice, caplog, in_memory_layer):
        caplog.set_level(logging.INFO, logger=LOGGER)
        session, _ = await db(session_create)(user=alice)
        ticket = await db(ws_ticket_issue)(session=session)
        first = WebsocketCommunicator(application, f"/ws/?ticket={ticket}")
        assert (await first.connect())[0]
        await first.disconnect()
        assert refusals(caplog) == []
        assert await refused(f"/ws/?ticket={ticket}")
        (message,) = refusals(caplog)
        assert message.endswith("refused: unknown, expired or already used ticket")
        assert ticket not in message
