from django.apps import AppConfig

from messenger import socket_apps


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Here rather than at the top: it imports the app's models, which are loaded by now.
        from accounts.payloads import me_payload

        async def socket_opened(socket) -> dict:
            return {"user": me_payload(socket.user)}

        socket_apps.register(socket_apps.SocketApp("accounts", opened=socket_opened))
