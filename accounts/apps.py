from django.apps import AppConfig

from accounts.jwt_keys import keyring
from messenger import socket_apps


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Build the JWT key ring now: a wrong key or algorithm stops the process at start-up
        # (ImproperlyConfigured) instead of failing the first login.
        keyring()

        # Here rather than at the top: it imports the app's models, which are loaded by now.
        from accounts.payloads import me_payload

        async def socket_opened(socket) -> dict:
            return {"user": me_payload(socket.user)}

        socket_apps.register(socket_apps.SocketApp("accounts", opened=socket_opened))
