"""Events of the accounts app. The only place in accounts that talks to the channel layer."""

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from messenger.realtime import session_group


def session_revoked_broadcast_on_commit(*, session_id) -> None:
    """After commit, tell every live socket of the session to close (close code 4401)."""

    def send() -> None:
        async_to_sync(get_channel_layer().group_send)(
            session_group(session_id), {"type": "session.revoked", "session_id": str(session_id)}
        )

    transaction.on_commit(send)
