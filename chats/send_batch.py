"""Storing messages: every send is a call of chats_message_send_batch (chats/sql/), the one writer.

While the event loop's runtime runs (a server process with sockets), sends are group-committed by
its MessageSendBatcher: the messages that arrive while a batch is being stored are stored together,
by one call of the function. Elsewhere (a REST request on a process without sockets, a command, a
test) `message_store` stores the message alone on Django's connection, in the caller's transaction.

Every transaction that stores messages holds the stream-order lock (chats/sql/stream_append.sql)
from its first event through its commit's WAL flush, so transactions of one message each would
flush one after another; a batch pays one round trip, one lock, one NOTIFY and one flush for all
its messages (bench/RESULTS.md has the figures).

No message waits for a batch to fill: a send starts a batch at once when fewer than
`concurrency` are being stored, otherwise it joins the next, which starts when one finishes. At a
low rate every batch is a single message.

Outcomes are the same as sending each message alone. The batch is one transaction, so if it
fails (a concurrent duplicate's unique violation, a deadlock with a send of the same client_id in
another chat, a lost connection) nothing of it is stored and each of its messages is sent again
on its own, getting the result or the error it would have had alone.
"""

import asyncio
import json
import logging
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

import psycopg
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import IntegrityError, connection, transaction

from chats.events import STREAM_NOTIFY_CHANNEL, STREAM_ORDER_LOCK_KEY
from chats.stream_tail import StreamTail, message_event
from messenger import realtime

logger = logging.getLogger(__name__)

BATCH_SQL = "SELECT status, seq, event_id, message_id FROM chats_message_send_batch(%s::jsonb, %s, %s, %s)"


class MessageToSend(NamedTuple):
    """One message's arguments of the function, in its order."""

    message_id: uuid.UUID
    chat_id: uuid.UUID
    sender_id: uuid.UUID | None
    client_id: str
    text: str
    reply_to: uuid.UUID | None
    created_at: datetime
    payload: dict[str, Any]  # the message's JSON without its seq, which the function adds
    origin: str  # the sending socket's name ("" from REST)
    attachment_ids: Sequence[uuid.UUID]  # the sender's uploads, in order
    kind: str = "text"  # Message.Kind; system and call are recorded by the server (message_record)
    system_json: str | None = None  # what a system or call message records (chats.payloads.system_json)
    mention_ids: Sequence[uuid.UUID] | None = None  # the members the text mentions (None: nobody)
    forward_of: uuid.UUID | None = None  # a forward's source message, whose files it carries
    forwarded_from_json: str | None = None  # a forward's origin (chats.payloads.forwarded_from_json)


def batch_params(messages: Sequence[MessageToSend], *, notify_tag: str) -> list[Any]:
    """The function's arguments for `messages`; `notify_tag` names the sending process in the NOTIFY.

    The messages go as one JSON parameter, one array of arguments each: one call into the json
    module's C code, rather than psycopg composing an SQL array per argument in Python (the
    measurement is in bench/RESULTS.md).
    """
    rows = [_row(message) for message in messages]
    return [json.dumps(rows, separators=(",", ":")), STREAM_ORDER_LOCK_KEY, STREAM_NOTIFY_CHANNEL, notify_tag]


def _row(message: MessageToSend) -> list[Any]:
    row = [
        str(message.message_id),
        str(message.chat_id),
        None if message.sender_id is None else str(message.sender_id),  # the server records some
        message.client_id,
        message.text,
        None if message.reply_to is None else str(message.reply_to),
        message.created_at.isoformat(),
        message.payload,
        message.origin,
        [str(attachment_id) for attachment_id in message.attachment_ids],
        message.kind,
        message.system_json,
    ]
    # Only mentions and forwards have the last three; an ordinary send leaves them out.
    if message.mention_ids is not None or message.forward_of is not None:
        row += [
            None if message.mention_ids is None else [str(user_id) for user_id in message.mention_ids],
            None if message.forward_of is None else str(message.forward_of),
            message.forwarded_from_json,
        ]
    return row


async def message_store(message: MessageToSend) -> tuple:
    """Store one message; returns the function's row for it: (status, seq, event_id, message_id).

    Raises psycopg.errors.UniqueViolation when a concurrent send with the same client_id won.
    """
    runtime = realtime.current()
    if runtime is not None:
        return await runtime.get(MessageSendBatcher).send(message)
    # The calling sync thread (a REST request, a command, a test), in its transaction.
    return await sync_to_async(message_store_in_transaction)(message)


def message_store_in_transaction(message: MessageToSend) -> tuple:
    """message_store on Django's connection, in the caller's transaction (which it joins, a savepoint).

    Every process's tail reads what it stores: the NOTIFY's tag is empty. Like every stream write,
    it takes the stream-order lock: call it last in the transaction.
    """
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(BATCH_SQL, batch_params([message], notify_tag=""))
            return cursor.fetchone()
    except IntegrityError as error:
        if isinstance(error.__cause__, psycopg.errors.UniqueViolation):
            raise error.__cause__ from None
        raise


class MessageSendBatcher(realtime.Component):
    """Stores the sends of one event loop in batches on its runtime's pool (see the module docstring).

    A component of the runtime (registered by ChatsConfig.ready): the events of what it stores are
    handed to the loop's stream tail, which delivers them without reading them back.
    """

    def __init__(self, runtime: realtime.Runtime) -> None:
        super().__init__(runtime)
        # Tagged with this process: its tail gets the events from here, not from the NOTIFY.
        self.notify_tag = realtime.SERVER_ID
        self.max_batch = settings.SEND_BATCH_MAX_SIZE
        self.concurrency = settings.SEND_BATCH_CONCURRENCY
        self._queue: list[tuple[MessageToSend, asyncio.Future]] = []
        self._running: set[asyncio.Task] = set()
        self.tail: StreamTail | None = None

    async def start(self) -> None:
        # Found once: a batch still committing when the runtime stops offers to this (stopped) tail.
        self.tail = self.runtime.get(StreamTail)

    async def send(self, message: MessageToSend) -> tuple:
        """Store one message; returns its row: (status, seq, event_id, message_id).

        Raises what storing it alone would raise (psycopg errors included).
        """
        future = asyncio.get_running_loop().create_future()
        self._queue.append((message, future))
        if len(self._running) < self.concurrency:
            self._start_batch()
        # A cancelled caller (its socket closed) cancels only its own future, not the batch.
        return await future

    def _start_batch(self) -> None:
        batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
        task = asyncio.get_running_loop().create_task(self._store(batch))
        self._running.add(task)
        task.add_done_callback(self._batch_done)

    def _batch_done(self, task: asyncio.Task) -> None:
        self._running.discard(task)
        if self._queue and len(self._running) < self.concurrency:
            self._start_batch()

    async def _store(self, batch: list[tuple[MessageToSend, asyncio.Future]]) -> None:
        try:
            await self._store_batch(batch)
        finally:  # settled by now, unless this task was cancelled (the loop is closing)
            for _, future in batch:
                future.cancel()

    async def _store_batch(self, batch: list[tuple[MessageToSend, asyncio.Future]]) -> None:
        try:
            rows = await self._call([message for message, _ in batch])
        except Exception as error:  # noqa: BLE001 - each send then meets its own outcome alone
            if len(batch) == 1:
                _settle(batch[0][1], error=error)
                return
            logger.info("a batch of %d sends failed (%r); sending each alone", len(batch), error)
            for message, future in batch:
                try:
                    (row,) = await self._call([message])
                except Exception as single_error:  # noqa: BLE001 - handed to that send's caller
                    _settle(future, error=single_error)
                else:
                    _settle(future, row=row)
            return
        for (_, future), row in zip(batch, rows, strict=True):
            _settle(future, row=row)

    async def _call(self, messages: list[MessageToSend]) -> list[tuple]:
        async with self.runtime.db.connection() as db:
            cursor = await db.execute(BATCH_SQL, batch_params(messages, notify_tag=self.notify_tag))
            rows = await cursor.fetchall()
        for message, (status, seq, event_id, _) in zip(messages, rows, strict=True):
            if status == "ok":  # committed: delivered from here (chats.stream_tail)
                payload = {**message.payload, "seq": seq}
                self.tail.offer(message_event(event_id=event_id, payload=payload, origin=message.origin))
        return rows


def _settle(future: asyncio.Future, *, row: tuple | None = None, error: BaseException | None = None) -> None:
    if future.done():  # its caller went away (cancelled)
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(row)
