from datetime import timedelta

from django.apps import AppConfig
from django.conf import settings

from messenger import realtime, socket_apps
from messenger.db import db_parallel


class ChatsConfig(AppConfig):
    name = "chats"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Here rather than at the top: these import the app's models, which are loaded by now.
        from chats import handlers
        from chats.send_batch import MessageSendBatcher
        from chats.services.presence import presence_housekeeping
        from chats.services.typing import TypingTracker
        from chats.stream_tail import StreamTail

        socket_apps.register(
            socket_apps.SocketApp(
                "chats", handlers=handlers.HANDLERS, opened=handlers.socket_opened, closed=handlers.socket_closed
            )
        )
        # The batcher hands what it stores to the tail; typing asks the tail who is in a chat.
        for component in (StreamTail, MessageSendBatcher, TypingTracker):
            realtime.register_component(component)

        async def housekeeping() -> None:
            stale_after = timedelta(seconds=settings.PRESENCE_STALE_AFTER_SECONDS)
            await db_parallel(presence_housekeeping)(server_id=realtime.SERVER_ID, stale_after=stale_after)

        realtime.register_periodic(
            "presence housekeeping", interval=lambda: settings.PRESENCE_HEARTBEAT_SECONDS, job=housekeeping
        )
