"""Pluggable SMS delivery for login codes. `settings.SMS_BACKEND` names the class to use."""

import logging
from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger("accounts.sms")


class BaseSMSBackend:
    """Subclass and implement `send` to deliver through a real provider (Twilio, Vonage, ...)."""

    def send(self, *, phone: str, text: str) -> None:
        raise NotImplementedError


class ConsoleSMSBackend(BaseSMSBackend):
    """Development backend: writes one log line with the phone and, with DEBUG on, the message.

    With DEBUG off (production) the text, which holds a login code, stays out of the logs
    (SECURITY.md): the line says that nothing was delivered.
    """

    def send(self, *, phone: str, text: str) -> None:
        if settings.DEBUG:
            logger.info("SMS to %s: %s", phone, text)
        else:
            logger.warning("SMS to %s not delivered: SMS_BACKEND is the console backend (text withheld)", phone)


class MemorySMSBackend(BaseSMSBackend):
    """Test backend: keeps sent messages in `outbox`."""

    outbox: list[tuple[str, str]] = []

    def send(self, *, phone: str, text: str) -> None:
        self.outbox.append((phone, text))


@cache
def _backend_class(path: str) -> type[BaseSMSBackend]:
    return import_string(path)


def sms_send(*, phone: str, text: str) -> None:
    _backend_class(settings.SMS_BACKEND)().send(phone=phone, text=text)
