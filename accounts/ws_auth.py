"""WebSocket handshake authentication: the socket's user and device session, or a refusal.

A socket authenticates with `Authorization: Bearer <access>` on the handshake or, for browsers
that cannot set headers, `?ticket=` from POST /api/v1/auth/ws-ticket. Without valid credentials
the handshake is refused (HTTP 403), so an unauthenticated socket never opens. Every refusal is
logged once, with its reason and never with the credentials themselves.

The access token is checked here, once: an open socket's authority is its device session, not
the token. It stays open past the token's expiry for as long as the session is active, and is
closed (4401) when the session is revoked (accounts.events -> messenger.relay -> the consumer). A
client refreshes its tokens over REST for REST calls and its next handshake; the socket does
not need them.
"""

from urllib.parse import parse_qs

from accounts.selectors import session_get_active
from accounts.services import ws_ticket_consume
from accounts.tokens import access_token_claims
from messenger.db import db_parallel
from messenger.errors import ApplicationError
from messenger.ws_handshake import refuse_handshake, scope_header


def _credentials(scope) -> tuple[str | None, str | None]:
    bearer = None
    authorization = scope_header(scope, b"authorization")
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer" and token:
            bearer = token.strip()
    ticket = parse_qs(scope.get("query_string", b"").decode("latin1")).get("ticket", [None])[0]
    return bearer, ticket


@db_parallel
def _authenticate(bearer: str | None, ticket: str | None):
    """(session, None) for valid credentials, else (None, why they were refused)."""
    if bearer:
        try:
            claims = access_token_claims(bearer)
        except ApplicationError:
            return None, "invalid or expired access token"
    elif ticket:
        claims = ws_ticket_consume(ticket)
        if claims is None:
            return None, "unknown, expired or already used ticket"
    else:
        return None, "no credentials (neither Authorization: Bearer nor ?ticket=)"
    session = session_get_active(session_id=claims.session_id)
    if session is None or str(session.user_id) != claims.user_id:
        return None, "the credentials' device session has ended"
    return session, None


class WebSocketAuthMiddleware:
    """Put the authenticated `user` and `device_session` into the scope, or refuse the handshake."""

    def __init__(self, inner) -> None:
        self.inner = inner

    async def __call__(self, scope, receive, send):
        session, reason = await _authenticate(*_credentials(scope))
        if session is None:
            return await refuse_handshake(scope, receive, send, reason=reason)
        scope = dict(scope, user=session.user, device_session=session)
        return await self.inner(scope, receive, send)
