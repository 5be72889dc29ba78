"""Builders and readers for calls tests: device sessions, calls started through the services, and the
stream events a test caused (with whom each concerns)."""

from dataclasses import dataclass
from typing import Any

from accounts.models import DeviceSession
from accounts.services import session_create
from calls import services
from calls.models import Call
from chats.models import StreamEvent
from chats.tests.asyncapi import validate_server_frame


def device(user, name: str = "phone") -> DeviceSession:
    session, _ = session_create(user=user, device_name=name)
    return session


def start(user, chat, *, session: DeviceSession | None = None, kind: str = Call.Kind.AUDIO) -> Call:
    session = session or device(user)
    return services.call_start(user=user, session_id=session.pk, chat_id=chat.pk, kind=kind)


@dataclass(frozen=True)
class Emitted:
    """A stream event as its frame, and whom it is addressed to."""

    type: str
    data: dict[str, Any]
    chat_id: str | None
    user_id: str | None


def stream_after(since: int) -> list[Emitted]:
    """The stream events appended after `since`, oldest first, each checked as the frame it becomes."""
    emitted = []
    for event in StreamEvent.objects.filter(id__gt=since).order_by("id"):
        validate_server_frame({"type": event.type, "cursor": event.id, "data": event.payload})
        chat_id = None if event.chat_id is None else str(event.chat_id)
        user_id = None if event.user_id is None else str(event.user_id)
        emitted.append(Emitted(event.type, event.payload, chat_id, user_id))
    return emitted
