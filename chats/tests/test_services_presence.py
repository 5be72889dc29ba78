from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.services import session_create
from chats.models import ServerProcess, SocketConnection
from chats.services.presence import presence_connect, presence_heartbeat, presence_reap

pytestmark = pytest.mark.django_db


def test_sockets_of_a_dead_process_are_reaped(user, other_user):
    session, _ = session_create(user=user)
    other_session, _ = session_create(user=other_user)
    presence_heartbeat(server_id="alive")
    presence_heartbeat(server_id="dead")
    assert presence_connect(user_id=user.pk, session_id=session.pk, channel_name="c1", server_id="dead")
    presence_connect(user_id=user.pk, session_id=session.pk, channel_name="c2", server_id="alive")
    presence_connect(user_id=other_user.pk, session_id=other_session.pk, channel_name="c3", server_id="dead")
    long_ago = timezone.now() - timedelta(minutes=5)
    ServerProcess.objects.filter(id="dead").update(heartbeat_at=long_ago)
    SocketConnection.objects.update(connected_at=long_ago)

    offline = presence_reap(stale_after=timedelta(seconds=60))

    # The user with a socket on a live process stays online; the other goes offline.
    assert [user_id for user_id, _ in offline] == [str(other_user.pk)]
    assert set(SocketConnection.objects.values_list("channel_name", flat=True)) == {"c2"}
    other_user.refresh_from_db()
    assert other_user.last_seen is not None
    assert list(ServerProcess.objects.values_list("id", flat=True)) == ["alive"]


def test_fresh_sockets_of_an_unknown_process_are_kept(user):
    session, _ = session_create(user=user)
    presence_connect(user_id=user.pk, session_id=session.pk, channel_name="c1", server_id="starting")
    assert presence_reap(stale_after=timedelta(seconds=60)) == []
    assert SocketConnection.objects.count() == 1
