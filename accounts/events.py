"""Events of the accounts app: the only module of the app that publishes frames."""

from asgiref.sync import async_to_sync
from django.db import transaction

from messenger.relay import publish_session_ended


def session_revoked_broadcast_on_commit(*, session_id) -> None:
    """After commit, every live socket of the session is closed (close code 4401), on every process."""
    transaction.on_commit(lambda: async_to_sync(publish_session_ended)(session_id))
