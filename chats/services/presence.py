"""Online/offline status, derived from the user's live sockets across all server processes.

A user is online while they have a SocketConnection row; each change of that is announced with
presence:update after commit. Rows are removed when a socket closes. A process that stops or dies
without closing its sockets (daphne cancels consumers on SIGTERM without a disconnect) stops
heartbeating, and another process reaps its rows within PRESENCE_STALE_AFTER_SECONDS, announcing
those users offline.
"""

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from chats.events import presence_changed_on_commit
from chats.models import ServerProcess, SocketConnection


def presence_connect(*, user_id, session_id, channel_name: str, server_id: str) -> bool:
    """Record a live socket; True if the user just came online."""
    with transaction.atomic():
        # Serialise a user's connects and disconnects so "first" and "last" are exact.
        User.objects.select_for_update().filter(pk=user_id).values_list("pk").first()
        SocketConnection.objects.create(
            channel_name=channel_name, user_id=user_id, session_id=session_id, server_id=server_id
        )
        came_online = SocketConnection.objects.filter(user_id=user_id).count() == 1
        if came_online:
            presence_changed_on_commit(user_id=user_id, online=True, last_seen=None)
        return came_online


def presence_disconnect(*, user_id, channel_name: str) -> datetime | None:
    """Forget a socket; returns the new last_seen if that was the user's last one."""
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user_id).values_list("pk").first()
        SocketConnection.objects.filter(channel_name=channel_name).delete()
        if SocketConnection.objects.filter(user_id=user_id).exists():
            return None
        now = timezone.now()
        User.objects.filter(pk=user_id).update(last_seen=now)
        presence_changed_on_commit(user_id=user_id, online=False, last_seen=now)
        return now


def presence_housekeeping(*, server_id: str, stale_after: timedelta) -> list[tuple[str, datetime]]:
    """Heartbeat for this process and reap the sockets of dead ones; run periodically by each process."""
    presence_heartbeat(server_id=server_id)
    return presence_reap(stale_after=stale_after)


def presence_heartbeat(*, server_id: str) -> None:
    """Tell the other processes this one is alive (and so are its sockets)."""
    ServerProcess.objects.update_or_create(id=server_id, defaults={"heartbeat_at": timezone.now()})


def presence_reap(*, stale_after: timedelta) -> list[tuple[str, datetime]]:
    """Forget sockets of server processes that stopped heartbeating (crashed or killed).

    Returns (user_id, last_seen) for each user this takes offline.
    """
    cutoff = timezone.now() - stale_after
    live = ServerProcess.objects.filter(heartbeat_at__gte=cutoff).values_list("id", flat=True)
    orphaned = SocketConnection.objects.exclude(server_id__in=live).filter(connected_at__lt=cutoff)
    user_ids = set(orphaned.values_list("user_id", flat=True))
    offline: list[tuple[str, datetime]] = []
    for user_id in user_ids:
        with transaction.atomic():
            User.objects.select_for_update().filter(pk=user_id).values_list("pk").first()
            SocketConnection.objects.filter(user_id=user_id).exclude(server_id__in=live).filter(
                connected_at__lt=cutoff
            ).delete()
            if not SocketConnection.objects.filter(user_id=user_id).exists():
                now = timezone.now()
                User.objects.filter(pk=user_id).update(last_seen=now)
                presence_changed_on_commit(user_id=user_id, online=False, last_seen=now)
                offline.append((str(user_id), now))
    ServerProcess.objects.filter(heartbeat_at__lt=cutoff).delete()
    return offline
