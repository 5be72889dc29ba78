"""Group commit for WebSocket sends: the messages that arrive while a batch is being stored
are stored together, by one call of chats_message_send_batch (migration 0005).

Every message's transaction takes the stream-order lock (chats.events) and holds it through its
commit's WAL flush, so one message per transaction means one flush after another, and the flush,
not the CPU, bounded the send rate (bench S1). A batch pays one round trip, one lock, one NOTIFY
and one flush for all its messages.

No message waits for a batch to fill: a send starts a batch at once when fewer than
`concurrency` are being stored, otherwise it joins the next, which starts when one finishes. At a
low rate every batch is a single message, exactly as before.

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

from psycopg_pool import AsyncConnectionPool

from chats.events import STREAM_NOTIFY_CHANNEL, STREAM_ORDER_LOCK_KEY

logger = logging.getLogger(__name__)

BATCH_SQL = "SELECT status, seq, event_id, message_id FROM chats_message_send_batch(%s::jsonb, %s, %s, %s)"


class MessageToSend(NamedTuple):
    """One message's arguments of the function, in its order."""

    message_id: uuid.UUID
    chat_id: uuid.UUID
    sender_id: uuid.UUID
    client_id: str
    text: str
    reply_to: uuid.UUID | None
    created_at: datetime
    payload: dict[str, Any]  # the message's JSON without its seq, which the function adds
    origin: str  # the sending socket's name ("" from REST)


def batch_params(messages: Sequence[MessageToSend], *, notify_tag: str) -> list[Any]:
    """The function's arguments for `messages`; `notify_tag` names the sending process in the NOTIFY.

    The messages go as one JSON array, one array of arguments each: encoding it is one call into
    the json module's C code, where psycopg composed nine SQL arrays element by element in Python
    (a sixth of a server's CPU in bench S1 with two processes).
    """
    rows = [
        [
            str(message.message_id),
            str(message.chat_id),
            str(message.sender_id),
            message.client_id,
            message.text,
            None if message.reply_to is None else str(message.reply_to),
            message.created_at.isoformat(),
            message.payload,
            message.origin,
        ]
        for message in messages
    ]
    return [json.dumps(rows, separators=(",", ":")), STREAM_ORDER_LOCK_KEY, STREAM_NOTIFY_CHANNEL, notify_tag]


class MessageSendBatcher:
    """Stores the sends of one event loop in batches on its pool (see the module docstring)."""

    def __init__(
        self,
        pool: AsyncConnectionPool,
        *,
        notify_tag: str,
        max_batch: int,
        concurrency: int,
    ) -> None:
        self.pool = pool
        self.notify_tag = notify_tag
        self.max_batch = max_batch
        self.concurrency = concurrency
        self._queue: list[tuple[MessageToSend, asyncio.Future]] = []
        self._running: set[asyncio.Task] = set()

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
        async with self.pool.connection() as connection:
            cursor = await connection.execute(BATCH_SQL, batch_params(messages, notify_tag=self.notify_tag))
            return await cursor.fetchall()


def _settle(future: asyncio.Future, *, row: tuple | None = None, error: BaseException | None = None) -> None:
    if future.done():  # its caller went away (cancelled)
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(row)
