"""Sends are stored in batches while the runtime runs (chats.send_batch); each send's outcome is its own.

Against the real database function: sends that arrive while a batch is being stored go together in
the next one; every message of a batch gets the outcome it would have had alone; a batch that fails
is sent again one message at a time; a caller that goes away does not take the others' messages
with it; what a batch stores is handed to the stream tail.
"""

import asyncio
import json
import random
import uuid

import psycopg
import pytest
from channels.db import database_sync_to_async
from django.db import connection
from django.utils import timezone

from accounts.tests.factories import UserFactory
from chats.models import Chat, Message, StreamEvent
from chats.send_batch import MessageSendBatcher, MessageToSend, message_store
from chats.tests.factories import direct_chat, send
from chats.tests.test_services_messages import _cases
from media.tests.factories import AttachmentFactory
from messenger import realtime
from messenger.db import async_pool, psycopg_params

pytestmark = pytest.mark.django_db(transaction=True)


class RecordingTail:
    """Stands in for the runtime's stream tail: keeps what the batcher offers."""

    def __init__(self) -> None:
        self.offered: list = []

    def offer(self, event) -> None:
        self.offered.append(event)


class RuntimeDouble:
    """What a batcher uses of its runtime: the pool, and the stream tail it offers to."""

    def __init__(self, pool) -> None:
        self.db = pool
        self.tail = RecordingTail()


class RecordingBatcher(MessageSendBatcher):
    """Records the size of every call of the database function."""

    def __init__(self, pool, *, max_batch: int = 64, concurrency: int = 1) -> None:
        super().__init__(RuntimeDouble(pool))
        self.tail = self.runtime.tail
        self.max_batch, self.concurrency = max_batch, concurrency
        self.calls: list[int] = []
        self.failures: list[Exception] = []

    async def _call(self, messages):
        self.calls.append(len(messages))
        try:
            return await super()._call(messages)
        except Exception as error:
            self.failures.append(error)
            raise


@pytest.fixture
async def pool():
    pool = async_pool()
    await pool.open()
    yield pool
    await pool.close()


def fields(sender, chat_id, client_id: str, text: str = "hi", reply_to=None) -> MessageToSend:
    payload = {"chat_id": str(chat_id), "client_id": client_id, "text": text}
    return MessageToSend(uuid.uuid4(), chat_id, sender.pk, client_id, text, reply_to, timezone.now(), payload, "", [])


def _stored(chat_id) -> list[tuple[str, int]]:
    return list(Message.objects.filter(chat_id=chat_id).order_by("seq").values_list("client_id", "seq"))


def _events(chat_id) -> list[tuple[int, str, int]]:
    rows = StreamEvent.objects.filter(chat_id=chat_id, type="message:new").order_by("id")
    return [(event.id, event.payload["client_id"], event.payload["seq"]) for event in rows]


async def test_sends_that_arrive_while_a_batch_is_stored_go_together_in_the_next(pool):
    alice, bob = await database_sync_to_async(lambda: (UserFactory(), UserFactory()))()
    chat = await database_sync_to_async(direct_chat)(alice, bob)
    batcher = RecordingBatcher(pool)

    rows = await asyncio.gather(*(batcher.send(fields(alice, chat.pk, f"m{n}", f"text {n}")) for n in range(12)))

    # The first starts a batch at once, alone; the other eleven queue behind it and go as one.
    assert batcher.calls == [1, 11]
    assert [(status, seq) for status, seq, _, _ in rows] == [("ok", n) for n in range(1, 13)]
    event_ids = [event_id for _, _, event_id, _ in rows]
    assert event_ids == list(range(event_ids[0], event_ids[0] + 12))  # consecutive: delivered from memory
    assert await database_sync_to_async(_stored)(chat.pk) == [(f"m{n}", n + 1) for n in range(12)]
    events = await database_sync_to_async(_events)(chat.pk)
    assert events == [(event_id, f"m{n}", n + 1) for n, event_id in enumerate(event_ids)]
    # Handed to the tail as stored, so this process delivers them without reading them back.
    offered = [(event.id, event.type, json.loads(event.payload_json)) for event in batcher.runtime.tail.offered]
    assert offered == [
        (event_id, "message:new", {"chat_id": str(chat.pk), "client_id": f"m{n}", "text": f"text {n}", "seq": n + 1})
        for n, event_id in enumerate(event_ids)
    ]


async def test_a_lone_send_does_not_wait_for_company(pool):
    alice, bob = await database_sync_to_async(lambda: (UserFactory(), UserFactory()))()
    chat = await database_sync_to_async(direct_chat)(alice, bob)
    batcher = RecordingBatcher(pool, concurrency=2)
    for n in range(3):
        status, seq, _, _ = await batcher.send(fields(alice, chat.pk, f"m{n}"))
        assert (status, seq) == ("ok", n + 1)
    assert batcher.calls == [1, 1, 1]


async def test_every_message_of_one_batch_gets_the_outcome_it_would_have_alone(pool):
    """The cases of test_services_messages (every rule of a send), all in one batch."""
    alice, bob, carol = await database_sync_to_async(lambda: (UserFactory(), UserFactory(), UserFactory()))()
    cases = dict(await database_sync_to_async(_cases)(alice, bob, carol))
    del cases["empty"]  # refused before the database
    # A retry of the first message in the same batch, before its ack.
    cases["retry_in_batch"] = dict(cases["ok"], text="retried")
    batcher = RecordingBatcher(pool)
    warm_chat = await database_sync_to_async(direct_chat)()
    warm_sender = await database_sync_to_async(lambda: warm_chat.members.first().user)()

    sends = [batcher.send(fields(warm_sender, warm_chat.pk, "warm"))]  # occupies the one slot
    sends += [
        batcher.send(fields(case["sender"], case["chat_id"], case["client_id"], case["text"], case.get("reply_to")))
        for case in cases.values()
    ]
    warm, *rows = await asyncio.gather(*sends)

    assert batcher.calls == [1, len(cases)]
    outcome = dict(zip(cases, rows, strict=True))
    assert {name: row[0] for name, row in outcome.items()} == {
        "ok": "ok",
        "reply": "ok",
        "repeat": "duplicate",
        "repeat_elsewhere": "client_id_reused",
        "not_member": "not_found",
        "no_chat": "not_found",
        "deleted_chat": "not_found",
        "channel_member": "forbidden",
        "channel_owner": "ok",
        "blocked": "blocked",
        "blocked_other_way": "blocked",
        "reply_elsewhere": "invalid_reply",
        "retry_in_batch": "duplicate",
    }
    # Stored: the three accepted, with the chat's next seqs in the order given; nothing else.
    direct_id, channel_id = cases["ok"]["chat_id"], cases["channel_owner"]["chat_id"]
    assert (outcome["ok"][1], outcome["reply"][1], outcome["channel_owner"][1]) == (2, 3, 1)
    assert outcome["retry_in_batch"][3] == outcome["ok"][3]  # the message stored earlier in the batch
    assert outcome["repeat"][3] is not None
    for name, row in outcome.items():
        if row[0] != "ok":
            assert (row[1], row[2]) == (None, None), name
    assert await database_sync_to_async(_stored)(direct_id) == [("first", 1), ("new", 2), ("reply", 3)]
    assert await database_sync_to_async(_stored)(channel_id) == [("n5", 1)]
    event_ids = [outcome[name][2] for name in ("ok", "reply", "channel_owner")]
    assert event_ids == list(range(warm[2] + 1, warm[2] + 4))  # consecutive after the first batch's
    stored = await database_sync_to_async(Message.objects.count)()
    assert stored == 1 + 1 + 3  # "first", the warm-up and the three accepted


async def test_forwards_and_mentions_share_a_batch_with_ordinary_sends(pool):
    """Each keeps its own extra elements: mentions and a forward's origin and files are stored with
    it alone, and a forward whose source is gone fails alone."""
    alice, bob = await database_sync_to_async(lambda: (UserFactory(), UserFactory()))()

    def setup():
        chat = direct_chat(alice, bob)
        photo = AttachmentFactory(uploader=bob)
        source = send(bob, chat, "with a photo", attachment_ids=[photo.pk])
        gone = send(bob, chat, "gone")
        Message.objects.filter(pk=gone.pk).update(deleted_at=timezone.now())
        return chat, photo, source, gone

    chat, photo, source, gone = await database_sync_to_async(setup)()
    origin = '{"sender_id":null}'
    batch = [
        fields(alice, chat.pk, "warm"),
        fields(alice, chat.pk, "plain"),
        fields(alice, chat.pk, "mention")._replace(mention_ids=[bob.pk]),
        fields(alice, chat.pk, "forward")._replace(
            attachment_ids=[photo.pk], forward_of=source.pk, forwarded_from_json=origin
        ),
        fields(alice, chat.pk, "forward-gone")._replace(forward_of=gone.pk, forwarded_from_json=origin),
        fields(alice, chat.pk, "after"),
    ]
    batcher = RecordingBatcher(pool)
    rows = await asyncio.gather(*(batcher.send(message) for message in batch))
    assert batcher.calls == [1, 5]
    assert [row[0] for row in rows] == ["ok", "ok", "ok", "ok", "forward_not_found", "ok"]

    def stored():
        messages = Message.objects.filter(chat=chat, client_id__in=[message.client_id for message in batch])
        return {
            message.client_id: (message.mention_ids, message.forwarded_from_json, list(message.attachments.all()))
            for message in messages
        }

    assert await database_sync_to_async(stored)() == {
        "warm": (None, None, []),
        "plain": (None, None, []),
        "mention": ([bob.pk], None, []),
        "forward": (None, origin, [photo]),
        "after": (None, None, []),
    }


def _waiting_for_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
        return cursor.fetchone()[0] > 0


async def test_a_batch_that_fails_is_sent_again_one_message_at_a_time(pool):
    """A concurrent send of the same client_id wins the unique constraint in the middle of a batch."""
    alice, bob, carol = await database_sync_to_async(lambda: (UserFactory(), UserFactory(), UserFactory()))()
    with_bob = await database_sync_to_async(direct_chat)(alice, bob)
    with_carol = await database_sync_to_async(direct_chat)(alice, carol)
    batcher = RecordingBatcher(pool)
    # Another process's send of ("retried") to bob, stored but not yet committed: it holds the
    # chat row, so the batch's own "retried" waits for it after finding no such message yet.
    other = await psycopg.AsyncConnection.connect(**psycopg_params())
    rival_id = uuid.uuid4()
    await other.execute("UPDATE chats_chat SET last_seq = last_seq + 1 WHERE id = %s", [with_bob.pk])
    await other.execute(
        "INSERT INTO chats_message (id, chat_id, seq, sender_id, client_id, text, created_at) "
        "VALUES (%s, %s, 1, %s, 'retried', 'from elsewhere', now())",
        [rival_id, with_bob.pk, alice.pk],
    )

    sends = asyncio.gather(
        batcher.send(fields(alice, with_carol.pk, "warm")),
        batcher.send(fields(alice, with_carol.pk, "next")),
        batcher.send(fields(alice, with_bob.pk, "retried")),
    )
    for _ in range(500):
        if batcher.calls == [1, 2] and await database_sync_to_async(_waiting_for_a_lock)():
            break
        await asyncio.sleep(0.01)
    assert batcher.calls == [1, 2]
    await other.commit()
    await other.close()
    warm, following, retried = await sends

    # The batch of two rolled back whole (unique violation), then each went alone.
    assert batcher.calls == [1, 2, 1, 1]
    assert (warm[:2], following[:2]) == (("ok", 1), ("ok", 2))
    assert retried == ("duplicate", None, None, rival_id)
    assert await database_sync_to_async(_stored)(with_carol.pk) == [("warm", 1), ("next", 2)]
    assert await database_sync_to_async(_stored)(with_bob.pk) == [("retried", 1)]
    last_seq = await database_sync_to_async(lambda: Chat.objects.get(pk=with_bob.pk).last_seq)()
    assert last_seq == 1  # the failed batch left no gap


async def test_a_caller_that_goes_away_does_not_cancel_the_batch(pool):
    alice, bob = await database_sync_to_async(lambda: (UserFactory(), UserFactory()))()
    chat = await database_sync_to_async(direct_chat)(alice, bob)
    batcher = RecordingBatcher(pool)
    first = asyncio.ensure_future(batcher.send(fields(alice, chat.pk, "first")))
    leaving = asyncio.ensure_future(batcher.send(fields(alice, chat.pk, "leaving")))
    staying = asyncio.ensure_future(batcher.send(fields(alice, chat.pk, "staying")))
    await asyncio.sleep(0)
    leaving.cancel()  # its socket closed while it waited for the next batch

    assert (await first)[:2] == ("ok", 1)
    assert (await staying)[:2] == ("ok", 3)
    with pytest.raises(asyncio.CancelledError):
        await leaving
    assert batcher.calls == [1, 2]
    # Stored all the same: a retry after reconnecting gets it back as a duplicate.
    assert await database_sync_to_async(_stored)(chat.pk) == [("first", 1), ("leaving", 2), ("staying", 3)]


async def test_batches_of_two_processes_over_the_same_chats_do_not_deadlock(pool):
    """Two processes' batchers, each message to one of five chats in random order, all at once."""
    users = await database_sync_to_async(lambda: [UserFactory() for _ in range(6)])()
    chats = [await database_sync_to_async(direct_chat)(users[0], other) for other in users[1:]]
    other_pool = async_pool()
    await other_pool.open()
    batchers = [RecordingBatcher(pool, concurrency=2), RecordingBatcher(other_pool, concurrency=2)]
    chosen = random.Random(7)
    plan = [(n, chosen.choice(batchers), chosen.choice(chats)) for n in range(300)]
    try:
        rows = await asyncio.gather(*(batcher.send(fields(users[0], chat.pk, f"m{n}")) for n, batcher, chat in plan))
    finally:
        await other_pool.close()

    assert all(batcher.failures == [] for batcher in batchers)  # no batch failed (no deadlock)
    assert max(max(batcher.calls) for batcher in batchers) > 1  # and they were batches
    assert {row[0] for row in rows} == {"ok"}
    for chat in chats:
        events = await database_sync_to_async(_events)(chat.pk)
        # Gap-free seqs, and the stream (id order) has them in seq order.
        assert [seq for _, _, seq in events] == list(range(1, len(events) + 1))


async def test_a_send_still_committing_when_the_runtime_stops_gets_its_answer(settings):
    """The last socket closes while a send waits on its chat row: the send still answers ok."""
    alice, bob = await database_sync_to_async(lambda: (UserFactory(), UserFactory()))()
    chat = await database_sync_to_async(direct_chat)(alice, bob)
    runtime = realtime.for_running_loop()
    socket = SocketDouble(alice)
    await runtime.attach(socket)
    holder = await psycopg.AsyncConnection.connect(**psycopg_params())
    await holder.execute("SELECT 1 FROM chats_chat WHERE id = %s FOR UPDATE", [chat.pk])
    sending = asyncio.ensure_future(message_store(fields(alice, chat.pk, "late")))
    for _ in range(500):
        if await database_sync_to_async(_waiting_for_a_lock)():
            break
        await asyncio.sleep(0.01)
    await runtime.detach(socket)  # the runtime stops
    assert realtime.current() is None
    await holder.rollback()
    await holder.close()
    status, seq, _, _ = await sending
    assert (status, seq) == ("ok", 1)


class SocketDouble:
    def __init__(self, user) -> None:
        self.user_id, self.session_id, self.channel_name = str(user.pk), f"s-{user.pk}", f"socket-{user.pk}"
        self.ready_cursor = self.live_cursor = 0

    async def push_stream_frame(self, event_id: int, frame: str | None) -> None:
        pass

    async def push_ephemeral_frame(self, frame: str) -> None:
        pass

    async def end_session(self) -> None:
        pass
