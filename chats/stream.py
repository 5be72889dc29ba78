"""Per-process delivery of durable stream events to the sockets connected to this process.

Each server process (per event loop) runs one StreamDispatcher. It tails the StreamEvent table
in id order, which is commit order (see chats.events.stream_event_record), and pushes each event
to the local sockets it concerns. Because every process reads the same ordered table, a socket
gets every event exactly once and in order, whichever process wrote it, and a restart loses
nothing: the client resumes with `sync:request`. Commits wake the dispatchers (PostgreSQL
LISTEN/NOTIFY across processes, a direct poke within one); if a wake-up is lost, the poll every
STREAM_POLL_INTERVAL_SECONDS catches up.

Who an event concerns is decided from an in-memory map of chat memberships of the users with
a socket here. The map is loaded when a user's first socket registers and is refreshed from
the database when a membership event passes through the stream, so it changes in step with it.

The dispatcher is also the process's one subscription to the channel layer, which carries the
best-effort events (typing, presence, session ends): the process's channel joins the group of
each user and each device session it holds sockets for, and the messages it receives are handed
to those sockets. A socket therefore costs no channel, no group membership and no waiting tasks
of its own (bench S3: memory per idle socket and connect rate).
"""

import asyncio
import json
import logging
import threading
from dataclasses import dataclass
from typing import Protocol

import psycopg
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connections
from psycopg_pool import AsyncConnectionPool

from chats.events import STREAM_NOTIFY_CHANNEL, encode_frame_with_data
from chats.models import ChatMember, StreamEvent
from chats.selectors import stream_position
from chats.send_batch import MessageSendBatcher
from messenger.db import async_pool, db_parallel, psycopg_params
from messenger.realtime import SERVER_ID, session_group, user_group

logger = logging.getLogger(__name__)

BATCH_SIZE = 500
# Channel layers forget a group membership a day after it was added (channels-redis
# group_expiry); a process re-adds its memberships this often, for users connected that long.
GROUP_REFRESH_SECONDS = 3600
# Events after which this process re-reads who is in the chat.
MEMBERSHIP_EVENTS = frozenset({"chat:created", "chat:member_added", "chat:member_removed"})


class StreamSocket(Protocol):
    channel_name: str  # the socket's unique name (no channel-layer channel of its own)
    user_id: str
    session_id: str

    async def push_stream_frame(self, event_id: int, frame: str | None) -> None:
        """Send `frame` (None: the event is this socket's own, acknowledged already)."""

    async def push_ephemeral_frame(self, frame: str) -> None:
        """Send a best-effort event's frame (typing, presence)."""

    async def end_session(self) -> None:
        """The socket's device session was revoked: close it."""


@dataclass(frozen=True, slots=True)
class _Event:
    id: int
    type: str
    chat_id: str | None
    user_id: str | None
    origin: str
    payload_json: str  # the payload as JSON text, spliced into the frame as it is


def _events_after(position: int, limit: int) -> list[_Event]:
    """The ORM version of _EVENTS_AFTER_SQL, for SQLite."""
    rows = (
        StreamEvent.objects.filter(id__gt=position)
        .order_by("id")
        .values_list("id", "type", "chat_id", "user_id", "origin", "payload")[:limit]
    )
    return [
        _Event(
            id=row[0],
            type=row[1],
            chat_id=row[2] and str(row[2]),
            user_id=row[3] and str(row[3]),
            origin=row[4],
            payload_json=json.dumps(row[5], separators=(",", ":")),
        )
        for row in rows
    ]


_EVENTS_AFTER_SQL = (
    f"SELECT id, type, chat_id::text, user_id::text, origin, payload::text FROM {StreamEvent._meta.db_table} "  # noqa: S608
    "WHERE id > %s ORDER BY id LIMIT %s"
)


def _memberships_of(user_id: str) -> list[tuple[str, int]]:
    rows = ChatMember.objects.filter(user_id=user_id, chat__deleted_at__isnull=True).values_list(
        "chat_id", "joined_event_id"
    )
    return [(str(chat_id), joined) for chat_id, joined in rows]


def _members_of(chat_id: str) -> list[tuple[str, int]]:
    rows = ChatMember.objects.filter(chat_id=chat_id).values_list("user_id", "joined_event_id")
    return [(str(user_id), joined) for user_id, joined in rows]


class StreamDispatcher:
    """Tails the stream for one event loop and fans events out to its registered sockets."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.position: int | None = None
        self.sockets: dict[str, set[StreamSocket]] = {}
        self.sessions: dict[str, set[StreamSocket]] = {}
        self.members: dict[str, dict[str, int]] = {}  # chat id -> {local user id: joined_event_id}
        self.chats_of: dict[str, set[str]] = {}  # local user id -> chat ids (reverse index)
        self._wakeup = asyncio.Event()
        # Whether the table must be read: set by wake-ups from elsewhere (NOTIFY of an event
        # this process does not have, a commit of its own ORM code, the poll) and by gaps.
        self._read_needed = True
        # Events this process committed itself (sends), by id: delivered without reading them
        # back, as soon as every event before them has been delivered.
        self._local: dict[int, _Event] = {}
        self._lock = asyncio.Lock()
        self._tasks: list[asyncio.Task] = []
        # PostgreSQL connections for the hot path (sends, the stream tail); None on SQLite.
        self.db: AsyncConnectionPool | None = None
        # WebSocket sends, stored in batches on that pool (chats.send_batch); None on SQLite.
        self.sends: MessageSendBatcher | None = None
        # This process's channel on the channel layer, while it has sockets.
        self.layer = get_channel_layer()
        self.layer_channel: str | None = None
        # Bumped on every stop: a background loop whose generation is over exits even if its
        # cancellation got lost (asyncio.wait_for in 3.11 can swallow one).
        self._generation = 0

    # --- sockets ---------------------------------------------------------------------------

    async def register(self, socket: StreamSocket) -> int:
        """Start delivering to `socket`; returns the cursor from which it gets events live."""
        async with self._lock:
            if self.position is None:
                if self.db is None and (pool := async_pool()) is not None:
                    await pool.open()
                    self.db = pool
                    self.sends = MessageSendBatcher(
                        pool,
                        # Tagged with this process: its dispatcher gets the events from the sends.
                        notify_tag=SERVER_ID,
                        max_batch=settings.SEND_BATCH_MAX_SIZE,
                        concurrency=settings.SEND_BATCH_CONCURRENCY,
                    )
                self.position = await database_sync_to_async(stream_position)()
            if self.layer_channel is None:
                self.layer_channel = await self.layer.new_channel()
            if socket.user_id not in self.sockets:
                for chat_id, joined in await db_parallel(_memberships_of)(socket.user_id):
                    self._add_member(chat_id, socket.user_id, joined)
                await self.layer.group_add(user_group(socket.user_id), self.layer_channel)
                self.sockets[socket.user_id] = set()
            self.sockets[socket.user_id].add(socket)
            if socket.session_id not in self.sessions:
                await self.layer.group_add(session_group(socket.session_id), self.layer_channel)
                self.sessions[socket.session_id] = set()
            self.sessions[socket.session_id].add(socket)
            if not self._tasks:
                with _dispatchers_guard:
                    _dispatchers.setdefault(self.loop, self)
                self._tasks = [
                    self.loop.create_task(self._run()),
                    self.loop.create_task(self._listen()),
                    self.loop.create_task(self._housekeeping()),
                    self.loop.create_task(self._relay()),
                ]
            return self.position

    async def unregister(self, socket: StreamSocket) -> None:
        stopped: list[asyncio.Task] = []
        async with self._lock:
            sockets = self.sockets.get(socket.user_id)
            if sockets is None:
                return
            sockets.discard(socket)
            if not sockets:
                del self.sockets[socket.user_id]
                for chat_id in self.chats_of.pop(socket.user_id, set()):
                    self.members.get(chat_id, {}).pop(socket.user_id, None)
                await self._leave_group(user_group(socket.user_id))
            session_sockets = self.sessions.get(socket.session_id, set())
            session_sockets.discard(socket)
            if not session_sockets:
                self.sessions.pop(socket.session_id, None)
                await self._leave_group(session_group(socket.session_id))
            if not self.sockets:
                stopped = self._stop()
        if stopped:
            # Give the cancelled tasks a moment to leave the wake-up group, but never block a
            # disconnect (or a server shutdown) on it.
            await asyncio.wait(stopped, timeout=1)

    def is_member(self, *, user_id: str, chat_id: str) -> bool:
        """Membership as of the stream position; for checks on the hot path without a query."""
        return user_id in self.members.get(chat_id, ())

    def wake(self) -> None:
        """Something was committed (by this process's ORM code): read the table."""
        self._read_needed = True
        self._wakeup.set()

    def offer(self, event: _Event) -> None:
        """An event this process has just committed, exactly as stored (see message_send_async)."""
        if self.position is not None and event.id > self.position:
            self._local[event.id] = event
            self._wakeup.set()

    def offer_message(self, *, event_id: int, data: dict, origin: str) -> None:
        payload_json = json.dumps(data, separators=(",", ":"))
        self.offer(_Event(event_id, "message:new", data["chat_id"], None, origin, payload_json))

    def _notified(self, payload: str) -> None:
        """A NOTIFY: "<event id> <server id>" from a one-statement send, '' from ORM code.

        The events this process sent itself come through `offer`; if one never does (its sender
        failed between commit and offer), the next poll reads it.
        """
        event_id, _, sender = payload.partition(" ")
        if sender != SERVER_ID or not event_id.isdigit():
            self._read_needed = True
        self._wakeup.set()

    def _stop(self) -> list[asyncio.Task]:
        self._generation += 1
        self._wakeup.set()  # let the tailing loop notice at once
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        self.position = None
        self._local.clear()
        self._read_needed = True
        if self.db is not None:
            tasks.append(self.loop.create_task(self.db.close()))
            self.db = None
            self.sends = None
        self.members.clear()
        self.chats_of.clear()
        self.sessions.clear()
        self.layer_channel = None
        with _dispatchers_guard:
            if _dispatchers.get(self.loop) is self:
                del _dispatchers[self.loop]
        return tasks

    # --- best-effort events (the channel layer) ----------------------------------------------

    async def refresh_groups(self) -> None:
        """Add this process's channel to its groups again, before the layer's expiry drops them.

        Without the lock (tens of thousands of round trips must not hold up connects): a group
        whose last socket leaves meanwhile may be re-added, and then only receives messages for
        nobody until it expires.
        """
        channel = self.layer_channel
        groups = [user_group(user_id) for user_id in list(self.sockets)]
        groups += [session_group(session_id) for session_id in list(self.sessions)]
        for group in groups:
            if channel is None or channel != self.layer_channel:
                return  # stopped meanwhile
            await self.layer.group_add(group, channel)

    async def _leave_group(self, group: str) -> None:
        try:
            await self.layer.group_discard(group, self.layer_channel)
        except Exception:  # a disconnect must not fail; the membership expires (channel-layer expiry)
            logger.exception("leaving %s failed", group)

    async def _relay(self) -> None:
        """Hand what arrives on this process's channel to the sockets it is for."""
        channel, generation = self.layer_channel, self._generation
        while generation == self._generation:
            try:
                message = await self.layer.receive(channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("channel layer receive failed; retrying")
                await asyncio.sleep(1)
                continue
            if message["type"] == "client.event":
                for socket in list(self.sockets.get(message["user_id"], ())):
                    await _relayed(socket, socket.push_ephemeral_frame(message["frame"]))
            elif message["type"] == "session.revoked":
                for socket in list(self.sessions.get(message["session_id"], ())):
                    await _relayed(socket, socket.end_session())
            else:
                logger.warning("unknown channel layer message %r", message["type"])

    # --- membership map ----------------------------------------------------------------------

    def _add_member(self, chat_id: str, user_id: str, joined_event_id: int) -> None:
        self.members.setdefault(chat_id, {})[user_id] = joined_event_id
        self.chats_of.setdefault(user_id, set()).add(chat_id)

    async def _reload_chat(self, chat_id: str) -> None:
        current = dict(await database_sync_to_async(_members_of)(chat_id))
        for user_id in list(self.members.get(chat_id, {})):
            if user_id not in current:
                self.members[chat_id].pop(user_id, None)
                self.chats_of.get(user_id, set()).discard(chat_id)
        for user_id, joined in current.items():
            if user_id in self.sockets:
                self._add_member(chat_id, user_id, joined)

    # --- tailing -------------------------------------------------------------------------------

    async def _housekeeping(self) -> None:
        from chats.presence import presence_housekeeping  # presence builds on this module's peers

        generation = self._generation
        groups_refreshed = self.loop.time()
        while generation == self._generation:
            try:
                await presence_housekeeping()
                if self.loop.time() - groups_refreshed >= GROUP_REFRESH_SECONDS:
                    groups_refreshed = self.loop.time()
                    await self.refresh_groups()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("housekeeping failed; retrying")
            await asyncio.sleep(settings.PRESENCE_HEARTBEAT_SECONDS)

    async def _run(self) -> None:
        generation = self._generation
        while generation == self._generation:
            try:
                async with asyncio.timeout(settings.STREAM_POLL_INTERVAL_SECONDS):
                    await self._wakeup.wait()
            except TimeoutError:
                self._read_needed = True  # the poll: covers a lost wake-up
            if generation != self._generation:
                return
            self._wakeup.clear()
            try:
                await self._catch_up()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("stream dispatcher: catch-up failed; retrying")
                await asyncio.sleep(1)

    async def _listen(self) -> None:
        """Wake up when any process commits stream events (PostgreSQL LISTEN).

        With SQLite there is a single process, whose own commits poke it directly.
        """
        if connections["default"].vendor != "postgresql":
            return
        params = psycopg_params()
        generation = self._generation
        while generation == self._generation:
            try:
                connection = await psycopg.AsyncConnection.connect(**params, autocommit=True)
                async with connection:
                    await connection.execute(f"LISTEN {STREAM_NOTIFY_CHANNEL}")
                    self.wake()  # catch up on anything committed while not listening
                    async for notify in connection.notifies():
                        if generation != self._generation:
                            return
                        self._notified(notify.payload)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("stream dispatcher: LISTEN failed; polling until it reconnects")
                await asyncio.sleep(1)

    async def _catch_up(self) -> None:
        async with self._lock:
            while self.sockets and self.position is not None:
                # This process's own events, while they follow on without a gap.
                while (event := self._local.pop(self.position + 1, None)) is not None:
                    await self._deliver_in_order(event)
                if self._local:
                    self._read_needed = True  # a gap: another event came in between
                if not self._read_needed:
                    return
                self._read_needed = False
                batch = await self._events_after(self.position)
                for event in batch:
                    await self._deliver_in_order(event)
                for event_id in [event_id for event_id in self._local if event_id <= self.position]:
                    del self._local[event_id]
                if len(batch) == BATCH_SIZE:
                    self._read_needed = True
                elif not batch:
                    return

    async def _deliver_in_order(self, event: _Event) -> None:
        if event.chat_id and event.type in MEMBERSHIP_EVENTS:
            await self._reload_chat(event.chat_id)
        await self._deliver(event)
        self.position = event.id

    async def _events_after(self, position: int) -> list[_Event]:
        if self.db is None:
            return await db_parallel(_events_after)(position, BATCH_SIZE)
        async with self.db.connection() as connection:
            cursor = await connection.execute(_EVENTS_AFTER_SQL, [position, BATCH_SIZE])
            return [_Event(*row) for row in await cursor.fetchall()]

    async def _deliver(self, event: _Event) -> None:
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
                    logger.exception("stream dispatcher: push to %s failed", socket.channel_name)


async def _relayed(socket: StreamSocket, delivery) -> None:
    """Await one socket's delivery; a failing socket must not stop the relay for the others."""
    try:
        await delivery
    except Exception:
        logger.exception("relay to %s failed", socket.channel_name)


_dispatchers: dict[asyncio.AbstractEventLoop, StreamDispatcher] = {}
_dispatchers_guard = threading.Lock()


def dispatcher_for_running_loop() -> StreamDispatcher:
    loop = asyncio.get_running_loop()
    with _dispatchers_guard:
        dispatcher = _dispatchers.get(loop)
        if dispatcher is None:
            dispatcher = _dispatchers[loop] = StreamDispatcher(loop)
        return dispatcher


def wake_local_dispatchers() -> None:
    """Thread-safe: called after commit, possibly from a worker thread."""
    with _dispatchers_guard:
        targets = list(_dispatchers.items())
    for loop, dispatcher in targets:
        if not loop.is_closed():
            loop.call_soon_threadsafe(dispatcher.wake)
