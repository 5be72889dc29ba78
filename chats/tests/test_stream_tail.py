"""The stream tail delivers in id order, exactly once: this process's own sends from memory, the rest read.

The send batcher hands what it stores to the tail (`offer`) instead of the tail reading it back.
These tests drive a running runtime's tail with a stand-in socket and events written straight to
the table (no wake-up), so what reaches the socket shows which way each event came: from the
offer, or from a read of the table.
"""

import asyncio
import json

import pytest
from channels.db import database_sync_to_async

from chats.models import StreamEvent
from chats.stream_tail import StreamTail, message_event
from chats.tests.factories import direct_chat
from messenger import realtime
from messenger.realtime import SERVER_ID

pytestmark = pytest.mark.django_db(transaction=True)


class FakeSocket:
    def __init__(self, user) -> None:
        self.user_id = str(user.pk)
        self.channel_name = f"fake.{user.pk}"
        self.session_id = f"session-of-{user.pk}"
        self.ready_cursor = self.live_cursor = 0
        self.frames: list[tuple[int, dict]] = []

    async def push_stream_frame(self, event_id: int, frame: str | None) -> None:
        self.frames.append((event_id, json.loads(frame)["data"]))

    async def push_ephemeral_frame(self, frame: str) -> None:
        pass

    async def end_session(self) -> None:
        pass


def _store(chat, text: str) -> int:
    """An event committed without waking anyone (as if by another statement of this process)."""
    return StreamEvent.objects.create(type="message:new", chat=chat, payload={"text": text, "chat_id": str(chat.pk)}).id


async def _settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0.01)


@pytest.fixture
async def setup(alice, bob, settings):
    settings.STREAM_POLL_INTERVAL_SECONDS = 30  # no poll in the middle of a test, unless it asks
    chat = await database_sync_to_async(direct_chat)(alice, bob)
    runtime = realtime.for_running_loop()
    socket = FakeSocket(bob)
    await runtime.attach(socket)
    tail = runtime.get(StreamTail)
    await asyncio.wait_for(tail.listening.wait(), timeout=10)
    await _settle()  # the first read, which LISTEN's start asks for
    yield tail, socket, chat
    await runtime.detach(socket)


def _offer(tail: StreamTail, event_id: int, chat, text: str) -> None:
    tail.offer(message_event(event_id=event_id, payload={"chat_id": str(chat.pk), "text": text}, origin=""))


async def test_an_offered_event_is_delivered_without_a_read(setup):
    tail, socket, chat = setup
    event_id = await database_sync_to_async(_store)(chat, "as stored")
    _offer(tail, event_id, chat, "from memory")
    await _settle()
    assert socket.frames == [(event_id, {"chat_id": str(chat.pk), "text": "from memory"})]

    tail.notified(f"{event_id} {SERVER_ID}")  # our own NOTIFY arriving late: no read, no repeat
    await _settle()
    assert len(socket.frames) == 1


async def test_a_gap_before_an_offered_event_is_read_first_and_nothing_repeats(setup):
    tail, socket, chat = setup
    first = await database_sync_to_async(_store)(chat, "someone else's")
    second = await database_sync_to_async(_store)(chat, "ours, as stored")
    _offer(tail, second, chat, "ours, from memory")
    await _settle()
    # The gap forced a read, which delivered both in order; the offer is then dropped.
    assert [(event_id, data["text"]) for event_id, data in socket.frames] == [
        (first, "someone else's"),
        (second, "ours, as stored"),
    ]
    _offer(tail, second, chat, "offered again")
    await _settle()
    assert len(socket.frames) == 2


async def test_another_process_notify_means_a_read(setup):
    tail, socket, chat = setup
    event_id = await database_sync_to_async(_store)(chat, "from another process")
    tail.notified(f"{event_id} another-server")
    await _settle()
    assert [data["text"] for _, data in socket.frames] == ["from another process"]


async def test_an_event_never_offered_is_read_by_the_poll(setup, settings):
    tail, socket, chat = setup
    event_id = await database_sync_to_async(_store)(chat, "sender died before offering")
    await _settle()
    tail._read_needed = False  # whatever woke it before (another test's late commit) is read
    tail.notified(f"{event_id} {SERVER_ID}")  # ours, so it asks for no read...
    assert not tail._read_needed
    await _settle()
    assert socket.frames == []
    settings.STREAM_POLL_INTERVAL_SECONDS = 0.1
    tail._wakeup.set()  # start a wait with the short interval (without asking for a read)
    await asyncio.sleep(0.5)  # ...but the poll reads it
    assert [data["text"] for _, data in socket.frames] == ["sender died before offering"]
