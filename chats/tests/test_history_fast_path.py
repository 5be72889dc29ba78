"""The history fast path answers exactly as the DRF view does, or leaves the request to it.

Each case sends the same ASGI request to Django alone and to the fast path in front of Django,
and compares status, headers and body bytes. A recorder around Django shows which one answered:
the ordinary request must be served by the fast path; everything else must reach Django.
"""

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIHandler
from django.db import transaction
from psycopg_pool import PoolTimeout

from accounts import session_check
from accounts.models import DeviceSession
from accounts.services.sessions import session_create, session_revoke
from accounts.tests.factories import UserFactory
from chats import history_fast, services
from chats.history_fast import HistoryFastPath, close_pool
from chats.models import Chat, Message, MessageAttachment
from chats.tests.factories import direct_chat, group_chat, send
from media.models import Attachment

pytestmark = pytest.mark.django_db(transaction=True)


class DjangoRecorder:
    """Django's ASGI application, counting the requests that reach it."""

    def __init__(self) -> None:
        self.app = ASGIHandler()
        self.calls = 0

    async def __call__(self, scope, receive, send) -> None:
        self.calls += 1
        await self.app(scope, receive, send)


async def _request(app, path: str, *, query: str = "", headers=(), method: str = "GET", scheme: str = "http"):
    """One ASGI request: (status, headers sorted with lower-case names, body)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": scheme,
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [*([] if any(name == b"host" for name, _ in headers) else [(b"host", b"testserver")]), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    sent: list[dict] = []
    body_given = asyncio.Event()

    async def receive() -> dict:
        if not body_given.is_set():
            body_given.set()
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()  # the client stays connected

    async def send(message: dict) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start, *bodies = sent
    header_list = sorted((name.decode().lower(), value.decode()) for name, value in start["headers"])
    return start["status"], header_list, b"".join(message.get("body", b"") for message in bodies)


def _bearer(user) -> tuple[bytes, bytes]:
    _, pair = session_create(user=user, device_name="history test")
    return (b"authorization", f"Bearer {pair.access}".encode())


class Answer(NamedTuple):
    status: int
    headers: list
    body: bytes
    served_fast: bool  # the fast path answered without Django


class Paths:
    """The fast path in front of a recording Django, and Django alone, built with current settings."""

    def __init__(self) -> None:
        self.django = DjangoRecorder()
        self.fast = HistoryFastPath(self.django)
        self.reference = ASGIHandler()

    async def compare(self, path: str, **request) -> Answer:
        """Both answers, asserted identical; and whether the fast path answered by itself."""
        calls = self.django.calls
        fast = await _request(self.fast, path, **request)
        served_fast = self.django.calls == calls
        reference = await _request(self.reference, path, **request)
        assert fast == reference
        return Answer(*fast, served_fast)


@pytest.fixture
async def paths():
    yield Paths()
    await close_pool()


def _history(chat: Chat) -> str:
    return f"/api/v1/chats/{chat.pk}/messages"


def _attach(message: Message, position: int, **fields) -> Attachment:
    attachment = Attachment.objects.create(
        uploader_id=message.sender_id,
        storage_key=f"test/{message.pk}/{position}",
        original_filename=f"file {position}.bin",
        content_type="application/octet-stream",
        size=1000 + position,
        **{"kind": Attachment.Kind.FILE, **fields},
    )
    MessageAttachment.objects.create(message=message, attachment=attachment, position=position)
    return attachment


def _varied_chat(alice, bob) -> Chat:
    """A chat whose messages use every field and every kind of value the JSON has to render."""
    chat = direct_chat(alice, bob)
    first = send(alice, chat, 'quotes " and \\ backslash, newline\n, tab\t, \x01, emoji 🎉, \u2028 and \u2029')
    send(bob, chat, "ümlaut and 日本語")
    send(bob, chat, "a reply", reply_to=first.pk)
    with transaction.atomic():  # a recorded event, whose payload is JSON text in the row
        services.message_record(
            chat=chat,
            actor=alice,
            kind="call",
            system={"event": "call", "reason": "missed", "ünïcode": "日本", "n": 1.5},
        )
    with_files = send(alice, chat, "with files")
    _attach(with_files, 0, kind=Attachment.Kind.IMAGE, width=40, height=30, thumbnail_key="thumbs/x.webp")
    _attach(with_files, 1, kind=Attachment.Kind.AUDIO, duration_seconds=12.0)
    _attach(with_files, 2, kind=Attachment.Kind.VIDEO, duration_seconds=3.25, width=640, height=360)
    edited = send(alice, chat, "before the edit")
    services.message_edit(user=alice, chat=chat, message=edited, text="after the edit")
    deleted = send(bob, chat, "soon gone")
    _attach(deleted, 0)
    services.message_delete(user=bob, chat=chat, message=deleted)
    # A whole second (no microseconds): Python then leaves the fraction out.
    Message.objects.filter(pk=edited.pk).update(created_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    return chat


async def test_pages_are_byte_for_byte_the_views(paths, alice, bob):
    chat = await database_sync_to_async(_varied_chat)(alice, bob)
    auth = await database_sync_to_async(_bearer)(alice)
    for query in [
        "",
        "limit=2",
        "before=4&limit=2",
        "after=2&limit=2",
        "after=1&before=5",
        "limit=200",
        "before=1",
        "after=99",
    ]:
        status, _, body, served_fast = await paths.compare(_history(chat), query=query, headers=[auth])
        assert status == 200, (query, body)
        assert served_fast, query
    status, _, body, _ = await paths.compare(_history(chat), headers=[auth])
    assert b'"deleted":true' in body and b'"duration_seconds":12.0' in body and b"\\u2028" in body


def _group_with_reactions_mentions_forwards_and_hidden(alice, bob, carol) -> Chat:
    """A group whose messages carry what depends on the reader (reactions' `me`, hidden ones)."""
    chat = group_chat(alice, [bob, carol], title="Grüße 👋")
    UserFactory._meta.model.objects.filter(pk=carol.pk).update(display_name='Carol "Quotes" Ü')
    mentioning = send(alice, chat, "@bob and @carol, and @all")
    for user, emoji in [(bob, "👍🏽"), (carol, "👍🏽"), (carol, "👨‍👩‍👧‍👦"), (alice, "❤️")]:
        services.message_react(user=user, chat=chat, message=mentioning, emoji=emoji)
    services.message_unreact(user=bob, chat=chat, message=mentioning, emoji="👍🏽")
    original = send(carol, chat, "forward me")
    _attach(original, 0)
    forward = {"chat_id": chat.pk, "message_id": original.pk}
    async_to_sync(services.message_send)(sender=bob, chat_id=chat.pk, client_id="fwd", forward_from=forward)
    hidden = send(carol, chat, "bob hides this")
    services.message_delete(user=bob, chat=chat, message=hidden, for_everyone=False)
    services.message_pin(user=alice, chat=chat, message=original)  # a system message
    gone = send(carol, chat, "reacted, then deleted")
    services.message_react(user=bob, chat=chat, message=gone, emoji="👍")
    services.message_delete(user=carol, chat=chat, message=gone)
    return chat


async def test_what_depends_on_the_reader_is_byte_for_byte_the_views(paths, alice, bob, carol):
    chat = await database_sync_to_async(_group_with_reactions_mentions_forwards_and_hidden)(alice, bob, carol)
    bodies = {}
    for reader in (alice, bob, carol):
        auth = await database_sync_to_async(_bearer)(reader)
        for query in ["", "limit=2", "before=4&limit=2", "after=2&limit=3", "after=3&before=6"]:
            status, _, body, served_fast = await paths.compare(_history(chat), query=query, headers=[auth])
            assert (status, served_fast) == (200, True), (query, body)
        bodies[reader.username] = json.loads((await paths.compare(_history(chat), headers=[auth])).body)
    first = {name: body["results"][0] for name, body in bodies.items()}
    assert [reaction["me"] for reaction in first["carol"]["reactions"]] == [True, True, False]
    assert [reaction["me"] for reaction in first["bob"]["reactions"]] == [False, False, False]
    assert first["alice"]["mentions"] == [str(bob.pk), str(carol.pk)]
    texts = {name: [message["text"] for message in body["results"]] for name, body in bodies.items()}
    assert "bob hides this" in texts["carol"] and "bob hides this" not in texts["bob"]
    forwarded = next(message for message in bodies["bob"]["results"] if message["forwarded_from"])
    assert forwarded["forwarded_from"]["chat_title"] == "Grüße 👋" and len(forwarded["attachments"]) == 1


async def test_a_message_whose_sender_is_gone(paths, alice, bob):
    def setup():
        chat = direct_chat(alice, bob)
        send(bob, chat, "from bob")
        bob.delete()  # the message stays, without a sender
        return chat

    chat = await database_sync_to_async(setup)()
    auth = await database_sync_to_async(_bearer)(alice)
    status, _, body, served_fast = await paths.compare(_history(chat), headers=[auth])
    assert (status, served_fast) == (200, True)
    assert b'"sender_id":null' in body


async def test_anything_unusual_is_left_to_django(paths, alice, bob, carol):
    chat = await database_sync_to_async(_varied_chat)(alice, bob)
    auth = await database_sync_to_async(_bearer)(alice)
    outsider = await database_sync_to_async(_bearer)(carol)
    cases = [
        ({}, 401),  # no credentials
        ({"headers": [(b"authorization", b"Bearer not-a-token")]}, 401),
        ({"headers": [(b"authorization", b"bearer " + auth[1].split()[1])]}, 401),
        ({"headers": [outsider]}, 404),  # not a member: looks like no such chat
        ({"headers": [auth], "query": "before=0"}, 400),
        ({"headers": [auth], "query": "limit=201"}, 400),
        ({"headers": [auth], "query": "limit=abc"}, 400),
        ({"headers": [auth], "query": "before=1.5"}, 400),
        ({"headers": [auth], "query": "limit=1&limit=2"}, 200),
        ({"headers": [auth], "query": "format=json"}, 200),
        ({"headers": [auth, (b"accept", b"text/html")]}, 406),
        ({"headers": [auth, (b"origin", b"http://localhost:8000")]}, 200),  # CORS headers from Django
        ({"headers": [auth, (b"host", b"testserver"), (b"host", b"testserver")]}, 400),  # Django joins them
        ({"headers": [auth], "method": "HEAD"}, 200),
    ]
    for request, expected in cases:
        status, _, body, served_fast = await paths.compare(_history(chat), **request)
        assert (status, served_fast) == (expected, False), (request, body)


async def test_an_ended_session_or_a_deleted_chat_is_left_to_django(paths, alice, bob):
    chat = await database_sync_to_async(direct_chat)(alice, bob)
    session, pair = await database_sync_to_async(session_create)(user=alice)
    auth = (b"authorization", f"Bearer {pair.access}".encode())
    assert (await paths.compare(_history(chat), headers=[auth])).served_fast

    await database_sync_to_async(session_revoke)(session=session)
    status, _, body, served_fast = await paths.compare(_history(chat), headers=[auth])
    assert (status, served_fast) == (401, False) and b"session_revoked" in body

    auth = await database_sync_to_async(_bearer)(alice)
    await database_sync_to_async(Chat.objects.filter(pk=chat.pk).update)(deleted_at=datetime.now(UTC))
    status, _, _, served_fast = await paths.compare(_history(chat), headers=[auth])
    assert (status, served_fast) == (404, False)

    def deactivate():
        alice.is_active = False
        alice.save(update_fields=["is_active"])

    await database_sync_to_async(deactivate)()
    status, _, _, served_fast = await paths.compare(_history(chat), headers=[auth])
    assert (status, served_fast) == (401, False)


async def test_hosts_and_https_are_checked_as_django_does(settings, alice, bob):
    chat = await database_sync_to_async(direct_chat)(alice, bob)
    auth = await database_sync_to_async(_bearer)(alice)
    settings.ALLOWED_HOSTS = ["chat.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_HSTS_SECONDS = 3600
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    paths = Paths()
    try:
        host = (b"host", b"chat.example.com")
        behind_tls = (b"x-forwarded-proto", b"https")
        # Our default Host (testserver) is no longer allowed: Django refuses it.
        answer = await paths.compare(_history(chat), headers=[auth, behind_tls])
        assert (answer.status, answer.served_fast) == (400, False)
        # Plain HTTP: Django redirects to HTTPS.
        answer = await paths.compare(_history(chat), headers=[auth, host])
        assert (answer.status, answer.served_fast) == (301, False)
        # HTTPS at the proxy: served here, with Django's HSTS header.
        status, headers, _, served_fast = await paths.compare(_history(chat), headers=[auth, host, behind_tls])
        assert (status, served_fast) == (200, True)
        assert ("strict-transport-security", "max-age=3600; includeSubDomains") in headers
    finally:
        await close_pool()


async def test_use_of_the_session_is_recorded_as_for_any_request(paths, alice, bob):
    chat = await database_sync_to_async(direct_chat)(alice, bob)
    session, pair = await database_sync_to_async(session_create)(user=alice)
    long_ago = datetime.now(UTC) - timedelta(hours=1)
    await database_sync_to_async(DeviceSession.objects.filter(pk=session.pk).update)(last_used_at=long_ago)

    auth = (b"authorization", f"Bearer {pair.access}".encode())
    status, _, _ = await _request(paths.fast, _history(chat), headers=[auth])
    assert status == 200 and paths.django.calls == 0
    session = await database_sync_to_async(DeviceSession.objects.get)(pk=session.pk)
    assert session.last_used_at > long_ago + timedelta(minutes=59)


async def test_a_token_that_expired_since_it_was_last_seen_is_left_to_django(paths, alice, bob, monkeypatch):
    chat = await database_sync_to_async(direct_chat)(alice, bob)
    auth = await database_sync_to_async(_bearer)(alice)
    assert (await paths.compare(_history(chat), headers=[auth])).served_fast  # checked once, remembered
    later = time.time() + settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"].total_seconds() + 1
    monkeypatch.setattr(session_check, "_now", lambda: later)
    await _request(paths.fast, _history(chat), headers=[auth])
    assert paths.django.calls == 1


async def test_a_database_failure_falls_back_to_django(paths, alice, bob, monkeypatch):
    chat = await database_sync_to_async(direct_chat)(alice, bob)
    auth = await database_sync_to_async(_bearer)(alice)

    async def no_connection():
        raise PoolTimeout("no connection available")

    monkeypatch.setattr(history_fast, "_pool", no_connection)
    status, _, _, served_fast = await paths.compare(_history(chat), headers=[auth])
    assert (status, served_fast) == (200, False)


async def test_it_is_off_unless_enabled(settings):
    assert HistoryFastPath(DjangoRecorder()).enabled
    settings.REST_HISTORY_FAST_PATH = False
    assert not HistoryFastPath(DjangoRecorder()).enabled
