"""Ephemeral frames between processes: the process's one channel-layer subscription.

Typing, presence, call signaling and session ends are best-effort: losing one is harmless, so they
skip the durable stream and go through the channel layer. The process's channel joins the group of
each user and each device session it holds sockets for; a message to a group names the user or
session it is for, and the relay hands the frame to exactly those local sockets. A socket therefore
costs no channel, no group membership and no waiting task of its own.

Apps publish only through their `events.py`, which call the `publish_*` functions here; this module
is the only one that talks to the channel layer.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from channels.layers import get_channel_layer

from messenger.ws_protocol import Socket

logger = logging.getLogger(__name__)

# Channel layers forget a group membership a day after it was added (channels-redis group_expiry);
# the relay adds its memberships again this often, for sockets connected that long.
GROUP_REFRESH_SECONDS = 3600

_TO_USER = "client.event"
_TO_SESSION = "session.event"
_SESSION_ENDED = "session.revoked"


def user_group(user_id) -> str:
    return f"user.{user_id}"


def session_group(session_id) -> str:
    return f"session.{session_id}"


async def publish_to_users(user_ids: Iterable, frame: str) -> None:
    """Hand `frame` to every socket of each user, on whichever process holds it."""
    layer = get_channel_layer()
    for user_id in user_ids:
        await layer.group_send(user_group(user_id), {"type": _TO_USER, "user_id": str(user_id), "frame": frame})


async def publish_to_session(session_id, frame: str) -> None:
    """Hand `frame` to the sockets of one device session."""
    message = {"type": _TO_SESSION, "session_id": str(session_id), "frame": frame}
    await get_channel_layer().group_send(session_group(session_id), message)


async def publish_session_ended(session_id) -> None:
    """Close every socket of a device session (close code 4401), wherever it is."""
    message = {"type": _SESSION_ENDED, "session_id": str(session_id)}
    await get_channel_layer().group_send(session_group(session_id), message)


class EphemeralRelay:
    """Joins this process's channel to its sockets' groups and relays what arrives (module docstring)."""

    def __init__(self, *, spawn: Callable[[str, Callable[[], Awaitable[Any]]], None]) -> None:
        self.spawn = spawn  # runs a loop supervised while the runtime runs (Runtime.spawn)
        self.layer = get_channel_layer()
        self.channel: str | None = None
        self.users: dict[str, set[Socket]] = {}
        self.sessions: dict[str, set[Socket]] = {}

    async def start(self) -> None:
        self.layer = get_channel_layer()
        self.channel = await self.layer.new_channel()
        self.spawn("channel layer relay", self._receive_forever)
        self.spawn("channel layer group refresh", self._refresh_forever)

    async def stop(self) -> None:
        self.channel = None
        self.users.clear()
        self.sessions.clear()

    async def attach(self, socket: Socket) -> None:
        for groups, key, group in (
            (self.users, socket.user_id, user_group(socket.user_id)),
            (self.sessions, socket.session_id, session_group(socket.session_id)),
        ):
            if key not in groups:
                await self.layer.group_add(group, self.channel)
                groups[key] = set()
            groups[key].add(socket)

    async def detach(self, socket: Socket) -> None:
        for groups, key, group in (
            (self.users, socket.user_id, user_group(socket.user_id)),
            (self.sessions, socket.session_id, session_group(socket.session_id)),
        ):
            sockets = groups.get(key)
            if sockets is None:
                continue
            sockets.discard(socket)
            if not sockets:
                del groups[key]
                try:
                    await self.layer.group_discard(group, self.channel)
                except Exception:  # a disconnect must not fail; the membership expires (layer expiry)
                    logger.exception("leaving %s failed", group)

    async def _receive_forever(self) -> None:
        channel = self.channel
        while channel is not None and channel == self.channel:
            await self._relay(await self.layer.receive(channel))

    async def _relay(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == _TO_USER:
            for socket in list(self.users.get(message["user_id"], ())):
                await _delivered(socket, socket.push_ephemeral_frame(message["frame"]))
        elif kind == _TO_SESSION:
            for socket in list(self.sessions.get(message["session_id"], ())):
                await _delivered(socket, socket.push_ephemeral_frame(message["frame"]))
        elif kind == _SESSION_ENDED:
            for socket in list(self.sessions.get(message["session_id"], ())):
                await _delivered(socket, socket.end_session())
        else:
            logger.warning("unknown channel layer message %r", kind)

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(GROUP_REFRESH_SECONDS)
            await self.refresh_groups()

    async def refresh_groups(self) -> None:
        """Add this process's channel to its groups again, before the layer's expiry drops them.

        Without the runtime's lock (tens of thousands of round trips must not hold up connects): a
        group whose last socket leaves meanwhile may be re-added, and then only receives messages
        for nobody until it expires.
        """
        channel = self.channel
        groups = [user_group(user_id) for user_id in list(self.users)]
        groups += [session_group(session_id) for session_id in list(self.sessions)]
        for group in groups:
            if channel is None or channel != self.channel:
                return  # stopped meanwhile
            await self.layer.group_add(group, channel)


async def _delivered(socket: Socket, delivery) -> None:
    """Await one socket's delivery; a failing socket must not stop the relay for the others."""
    try:
        await delivery
    except Exception:
        logger.exception("relay to %s failed", socket.channel_name)
