"""What each app adds to the WebSocket: its frame types, and what it does when a socket opens and closes.

Apps register from their `AppConfig.ready()`, so the consumer (messenger.consumers) knows no app:
it looks a frame's type up here, and asks every registered app for its part of `ready`.
"""

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

# A handler gets the socket (messenger.consumers.ClientConsumer) and the frame's `data`, and
# returns the `ack` data (None: an empty ack). It raises ApplicationError for an `error` frame.
Handler = Callable[[Any, dict[str, Any]], Awaitable[dict[str, Any] | None]]


@dataclass(frozen=True)
class SocketApp:
    name: str
    handlers: Mapping[str, Handler] = field(default_factory=dict)
    # Called once the socket is attached to the runtime; returns the fields it adds to `ready`.
    opened: Callable[[Any], Awaitable[dict[str, Any]]] | None = None
    # Called when the socket closes, before it is detached from the runtime.
    closed: Callable[[Any], Awaitable[None]] | None = None


_apps: list[SocketApp] = []
_handlers: dict[str, Handler] = {}


def register(app: SocketApp) -> None:
    if any(registered.name == app.name for registered in _apps):
        return
    clashes = set(app.handlers) & set(_handlers)
    if clashes:
        raise ValueError(f"{app.name} registers frame types that exist already: {sorted(clashes)}")
    _apps.append(app)
    _handlers.update(app.handlers)


def handler_for(frame_type: str) -> Handler | None:
    return _handlers.get(frame_type)


def registered_apps() -> tuple[SocketApp, ...]:
    return tuple(_apps)


def frame_types() -> frozenset[str]:
    """Every frame type a client may send (the access-control and AsyncAPI tests walk these)."""
    return frozenset(_handlers)
