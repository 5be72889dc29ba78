"""Delivery of the durable stream to the sockets of this process: the stream tail.

Each running runtime (messenger.realtime) has one tail. It reads the StreamEvent table in id
order, which is commit order (chats.events.stream_event_record), and pushes each event to the local
sockets it concerns. Because every process reads the same ordered table, a socket gets every event
exactly once and in order, whichever process wrote it, and a restart loses nothing: the client
resumes with `sync:request`.

Wake-ups: every writer sends `NOTIFY <STREAM_NOTIFY_CHANNEL>, '<last event id> <tag>'` with its
transaction (delivered at commit, dropped on rollback); `tag` names the process whose send batcher
wrote it ('' for every other writer). This process's own batched sends are handed over by the
batcher (`offer`) and delivered from memory, as soon as every earlier id has been delivered, so
their NOTIFY causes no read; anything else is read from the table. A lost wake-up only delays
delivery until the next poll (STREAM_POLL_INTERVAL_SECONDS).

Who an event concerns comes from a map of the chat memberships of the users with a socket here,
loaded when a user's first socket attaches and re-read when a membership event passes through the
stream, so it changes in step with it. The same events keep `chat_audience` (every member of a
chat, for typing) current.
"""

import asyncio
import json
import logging
from collections import OrderedDict
from dataclasses import dataclass

import psycopg
from django.conf import settings

from chats import selectors
from chats.events import STREAM_NOTIFY_CHANNEL
from chats.models import StreamEvent
from messenger.db import db_parallel, psycopg_params
from messenger.realtime import SERVER_ID, Component, Runtime
from messenger.ws_protocol import Socket, encode_frame_with_data

logger = logging.getLogger(__name__)

READ_BATCH_SIZE = 500
# Events after which this process re-reads who is in the chat.
MEMBERSHIP_EVENTS = frozenset({"chat:created", "chat:member_added", "chat:member_removed"})
# Chats whose full member list is kept for typing (least recently used dropped first).
AUDIENCE_CACHE_SIZE = 10_000

_EVENTS_AFTER_SQL = (
    f"SELECT id, type, chat_id::text, user_id::text, origin, payload::text FROM {StreamEvent._meta.db_table} "  # noqa: S608
    "WHERE id > %s ORDER BY id LIMIT %s"
)


@dataclass(frozen=True, slots=True)
class Event:
    """A committed stream event as the tail delivers it."""

    id: int
    type: str
    chat_id: str | None
    user_id: str | None
    origin: str  # the socket that caused it, which got an ack instead
    payload_json: str  # the payload as JSON text, spliced into the frame as it is


class StreamTail(Component):
    """See the module docstring. A component of the runtime (registered by ChatsConfig.ready)."""

    def __init__(self, runtime: Runtime) -> None:
        super().__init__(runtime)
        self.position = 0
        self.sockets: dict[str, set[Socket]] = {}  # local user id -> sockets
        self.members: dict[str, dict[str, int]] = {}  # chat id -> {local user id: joined_event_id}
        self.chats_of: dict[str, set[str]] = {}  # local user id -> chat ids (reverse index)
        self.audiences: OrderedDict[str, frozenset[str]] = OrderedDict()  # chat id -> every member
        self._wakeup = asyncio.Event()
        # Whether the table must be read: set by wake-ups of events this process was not handed
        # (other processes', its own non-batched writes), by the poll and by gaps.
        self._read_needed = True
        self._offered: dict[int, Event] = {}  # this process's batched sends, by id
        self._lock = asyncio.Lock()
        self.listening = asyncio.Event()  # set while the LISTEN connection is up

    # --- the runtime's component protocol -----------------------------------------------------

    async def start(self) -> None:
        self.position = await db_parallel(selectors.stream_position)()
        self.runtime.spawn("stream tail", self._tail_forever)
        self.runtime.spawn("stream LISTEN", self._listen)

    async def stop(self) -> None:
        self._wakeup.set()  # let the tailing loop notice at once
        self._offered.clear()
        self.sockets.clear()
        self.members.clear()
        self.chats_of.clear()
        self.audiences.clear()

    async def attach(self, socket: Socket) -> None:
        """Deliver to `socket` from the current position on, which becomes its `ready` cursor."""
        async with self._lock:
            if socket.user_id not in self.sockets:
                for chat_id, joined in await db_parallel(selectors.chat_memberships_of)(user_id=socket.user_id):
                    self._add_member(chat_id, socket.user_id, joined)
                self.sockets[socket.user_id] = set()
            self.sockets[socket.user_id].add(socket)
            socket.ready_cursor = socket.live_cursor = self.position

    async def detach(self, socket: Socket) -> None:
        async with self._lock:
            sockets = self.sockets.get(socket.user_id)
            if sockets is None:
                return
            sockets.discard(socket)
            if not sockets:
                del self.sockets[socket.user_id]
                for chat_id in self.chats_of.pop(socket.user_id, set()):
                    self.members.get(chat_id, {}).pop(socket.user_id, None)

    # --- what the rest of the app asks ---------------------------------------------------------

    def is_member(self, *, user_id: str, chat_id: str) -> bool:
        """Membership of a local user as of the stream position: a check without a query."""
        return user_id in self.members.get(chat_id, ())

    async def chat_audience(self, chat_id: str) -> frozenset[str]:
        """Every member of a chat, kept in step with the stream's membership events."""
        audience = self.audiences.get(chat_id)
        if audience is None:
            audience = frozenset(map(str, await db_parallel(selectors.member_user_ids)(chat_id=chat_id)))
            self.audiences[chat_id] = audience
            while len(self.audiences) > AUDIENCE_CACHE_SIZE:
                self.audiences.popitem(last=False)
        else:
            self.audiences.move_to_end(chat_id)
        return audience

    def offer(self, event: Event) -> None:
        """An event this process's send batcher has just committed, exactly as stored."""
        if event.id > self.position:
            self._offered[event.id] = event
            self._wakeup.set()

    def notified(self, payload: str) -> None:
        """A NOTIFY: "<event id> <tag>". Events this process's batcher wrote come through `offer`;
        if one never does (it failed between commit and offer), the next poll reads it."""
        event_id, _, tag = payload.partition(" ")
        if tag != SERVER_ID or not event_id.isdigit():
            self._read_needed = True
        self._wakeup.set()

    # --- tailing -------------------------------------------------------------------------------

    async def _tail_forever(self) -> None:
        generation = self.runtime.generation
        while generation == self.runtime.generation:
            try:
                async with asyncio.timeout(settings.STREAM_POLL_INTERVAL_SECONDS):
                    await self._wakeup.wait()
            except TimeoutError:
                self._read_needed = True  # the poll: covers a lost wake-up
            self._wakeup.clear()
            await self._catch_up()

    async def _listen(self) -> None:
        """Wake up when any process commits stream events (PostgreSQL LISTEN on its own connection)."""
        connection = await psycopg.AsyncConnection.connect(**psycopg_params(), autocommit=True)
        async with connection:
            await connection.execute(f"LISTEN {STREAM_NOTIFY_CHANNEL}")
            self._read_needed = True  # catch up on anything committed while not listening
            self._wakeup.set()
            self.listening.set()
            try:
                async for notify in connection.notifies():
                    self.notified(notify.payload)
            finally:
                self.listening.clear()

    async def _catch_up(self) -> None:
        async with self._lock:
            while self.sockets:
                # This process's own events, while they follow on without a gap.
                while (event := self._offered.pop(self.position + 1, None)) is not None:
                    await self._deliver_in_order(event)
                if self._offered:
                    self._read_needed = True  # a gap: another event came in between
                if not self._read_needed:
                    return
                self._read_needed = False
                batch = await self._events_after(self.position)
                for event in batch:
                    await self._deliver_in_order(event)
                for event_id in [event_id for event_id in self._offered if event_id <= self.position]:
                    del self._offered[event_id]
                if len(batch) == READ_BATCH_SIZE:
                    self._read_needed = True
                elif not batch:
                    return

    async def _events_after(self, position: int) -> list[Event]:
        async with self.runtime.db.connection() as connection:
            cursor = await connection.execute(_EVENTS_AFTER_SQL, [position, READ_BATCH_SIZE])
            return [Event(*row) for row in await cursor.fetchall()]

    async def _deliver_in_order(self, event: Event) -> None:
        if event.chat_id and event.type in MEMBERSHIP_EVENTS:
            self.audiences.pop(event.chat_id, None)
            await self._reload_chat(event.chat_id)
        await self._deliver(event)
        self.position = event.id

    async def _deliver(self, event: Event) -> None:
        recipients: set[str] = set()
        if event.user_id and event.user_id in self.sockets:
            recipients.add(event.user_id)
        if event.chat_id:
            for user_id, joined in self.members.get(event.chat_id, {}).items():
                if event.id > joined:
                    recipients.add(user_id)
        if not recipients:
            return
        frame = encode_frame_with_data(event.type, event.payload_json, cursor=event.id)  # once, for all
        for user_id in recipients:
            for socket in list(self.sockets.get(user_id, ())):
                try:
                    await socket.push_stream_frame(event.id, None if socket.channel_name == event.origin else frame)
                except Exception:
                    logger.exception("stream tail: push to %s failed", socket.channel_name)

    # --- membership map ------------------------------------------------------------------------

    def _add_member(self, chat_id: str, user_id: str, joined_event_id: int) -> None:
        self.members.setdefault(chat_id, {})[user_id] = joined_event_id
        self.chats_of.setdefault(user_id, set()).add(chat_id)

    async def _reload_chat(self, chat_id: str) -> None:
        current = dict(await db_parallel(selectors.chat_member_positions)(chat_id=chat_id))
        for user_id in list(self.members.get(chat_id, {})):
            if user_id not in current:
                self.members[chat_id].pop(user_id, None)
                self.chats_of.get(user_id, set()).discard(chat_id)
        for user_id, joined in current.items():
            if user_id in self.sockets:
                self._add_member(chat_id, user_id, joined)


def message_event(*, event_id: int, payload: dict, origin: str) -> Event:
    """The stream event of a message the send batcher has just stored (its payload as stored)."""
    return Event(event_id, "message:new", payload["chat_id"], None, origin, json.dumps(payload, separators=(",", ":")))
