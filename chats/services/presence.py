"""Online/offline status, derived from the user's live sockets across all server processes."""

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import Contact, User
from chats.models import ChatMember, ServerProcess, SocketConnection


def presence_connect(*, user_id, session_id, channel_name: str, server_id: str) -> bool:
    """Record a live socket; True if the user just came online."""
    with transaction.atomic():
        # Serialise a user's connects and disconnects so "first" and "last" are exact.
        User.objects.select_for_update().filter(pk=user_id).values_list("pk").first()
        SocketConnection.objects.create(
            channel_name=channel_name, user_id=user_id, session_id=session_id, server_id=server_id
        )
        return SocketConnection.objects.filter(user_id=user_id).count() == 1


def presence_disconnect(*, user_id, channel_name: str) -> datetime | None:
    """Forget a socket; returns the new last_seen if that was the user's last one."""
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user_id).values_list("pk").first()
        SocketConnection.objects.filter(channel_name=channel_name).delete()
        if SocketConnection.objects.filter(user_id=user_id).exists():
            return None
        now = timezone.now()
        User.objects.filter(pk=user_id).update(last_seen=now)
        return now


def presence_audience(*, user_id) -> list:
    """Users who see this user's presence: everyone sharing a chat, and whoever has them as a contact."""
    shared_chats = ChatMember.objects.filter(user_id=user_id, chat__deleted_at__isnull=True).values("chat_id")
    co_members = ChatMember.objects.filter(chat_id__in=shared_chats).values_list("user_id", flat=True)
    contact_owners = Contact.objects.filter(contact_id=user_id).values_list("owner_id", flat=True)
    audience = set(co_members) | set(contact_owners)
    return [uid for uid in audience if str(uid) != str(user_id)]


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
                offline.append((str(user_id), now))
    ServerProcess.objects.filter(heartbeat_at__lt=cutoff).delete()
    return offline
