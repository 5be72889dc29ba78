"""One-use WebSocket tickets for browsers, which cannot set headers on a WebSocket handshake."""

import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

from accounts.models import DeviceSession

_PREFIX = "ws-ticket:"


@dataclass(frozen=True)
class TicketClaims:
    user_id: str
    session_id: str


def ws_ticket_issue(*, session: DeviceSession) -> str:
    """Return a random ticket valid once, for WS_TICKET_TTL_SECONDS."""
    ticket = secrets.token_urlsafe(32)
    cache.set(_PREFIX + ticket, f"{session.user_id}:{session.id}", timeout=settings.WS_TICKET_TTL_SECONDS)
    return ticket


def ws_ticket_consume(ticket: str) -> TicketClaims | None:
    """Redeem a ticket; None if unknown, expired or already used."""
    if not ticket or len(ticket) > 100:
        return None
    key = _PREFIX + ticket
    value = cache.get(key)
    # delete() reports whether this caller removed the key, so of two racing redeemers one wins.
    if value is None or not cache.delete(key):
        return None
    user_id, session_id = value.split(":", 1)
    return TicketClaims(user_id=user_id, session_id=session_id)
