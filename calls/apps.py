from django.apps import AppConfig
from django.conf import settings

from messenger import realtime, socket_apps
from messenger.db import db_parallel


class CallsConfig(AppConfig):
    name = "calls"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Here rather than at the top: these import the app's models, which are loaded by now.
        from calls import handlers
        from calls.services import call_deadlines_fire

        socket_apps.register(socket_apps.SocketApp("calls", handlers=handlers.HANDLERS, opened=handlers.socket_opened))

        async def deadlines() -> None:
            await db_parallel(call_deadlines_fire)()

        realtime.register_periodic(
            "call deadlines", interval=lambda: settings.CALL_DEADLINE_INTERVAL_SECONDS, job=deadlines
        )
