"""Presence orchestration: socket lifecycle, server heartbeats and reaping, and the broadcasts.

A user is online while they have a SocketConnection row. Rows are removed when a socket closes.
A process that stops or dies without closing its sockets (daphne cancels consumers on SIGTERM
without a disconnect) stops heartbeating, and another process reaps its rows within
PRESENCE_STALE_AFTER_SECONDS, announcing those users offline.
"""

from datetime import timedelta

from django.conf import settings

from chats import services
from chats.events import ephemeral_broadcast, presence_payload
from chats.services.presence import presence_heartbeat, presence_reap
from messenger.db import db_parallel
from messenger.realtime import SERVER_ID


async def presence_socket_opened(*, user, session_id, channel_name: str) -> None:
    came_online = await db_parallel(services.presence_connect)(
        user_id=user.pk, session_id=session_id, channel_name=channel_name, server_id=SERVER_ID
    )
    if came_online:
        await presence_broadcast(user.pk, online=True, last_seen=None)


async def presence_socket_closed(*, user, channel_name: str) -> None:
    last_seen = await db_parallel(services.presence_disconnect)(user_id=user.pk, channel_name=channel_name)
    if last_seen is not None:
        await presence_broadcast(user.pk, online=False, last_seen=last_seen)


async def presence_housekeeping() -> None:
    """Heartbeat for this process and reap the sockets of dead ones; run periodically."""
    await db_parallel(presence_heartbeat)(server_id=SERVER_ID)
    stale_after = timedelta(seconds=settings.PRESENCE_STALE_AFTER_SECONDS)
    for user_id, last_seen in await db_parallel(presence_reap)(stale_after=stale_after):
        await presence_broadcast(user_id, online=False, last_seen=last_seen)


async def presence_broadcast(user_id, *, online: bool, last_seen) -> None:
    audience = await db_parallel(services.presence_audience)(user_id=user_id)
    await ephemeral_broadcast(
        event_type="presence:update",
        data=presence_payload(user_id=user_id, online=online, last_seen=last_seen),
        user_ids=audience,
    )
