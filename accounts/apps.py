from django.apps import AppConfig

from accounts.jwt_keys import keyring


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Build the JWT key ring now: a wrong key or algorithm stops the process at start-up
        # (ImproperlyConfigured) instead of failing the first login.
        keyring()
