"""WebSocket handshake gatekeeping: Origin check and authentication.

A socket authenticates with `Authorization: Bearer <access>` on the handshake or, for browsers
that cannot set headers, `?ticket=` from POST /api/v1/auth/ws-ticket. Without valid credentials
the handshake is refused (HTTP 403), so an unauthenticated socket never opens.

The access token is checked here, once: an open socket's authority is its device session, not
the token. It stays open past the token's expiry for as long as the session is active, and is
closed (4401) when the session is revoked (accounts.events -> chats.stream -> the consumer). A
client refreshes its tokens over REST for REST calls and its next handshake; the socket does
not need them.
"""

from urllib.parse import parse_qs, urlparse

from channels.security.websocket import OriginValidator, WebsocketDenier

from accounts.selectors import session_get_active
from accounts.services import ws_ticket_consume
from accounts.tokens import access_token_claims
from messenger.db import db_parallel
from messenger.errors import ApplicationError


class WebsocketRefusal(WebsocketDenier):
    """Channels' denier (HTTP 403 to the handshake) without a channel-layer channel.

    WebsocketDenier is a consumer, so it subscribes to the channel layer like any other: every
    refused handshake cost a channel and a wait on Redis (and a cancelled channels-redis receive
    can stall an event loop's shutdown). A refusal needs neither.
    """

    channel_layer_alias = None  # no layer of that name: get_channel_layer() gives None


class BrowserOriginValidator(OriginValidator):
    """Refuse handshakes whose Origin is not allowed.

    Native clients (mobile apps, bots) send no Origin header and are let through: the check
    exists to stop other web sites from using a visitor's browser, and browsers always send it.
    """

    async def __call__(self, scope, receive, send):
        origin = None
        for name, value in scope.get("headers", []):
            if name == b"origin":
                origin = urlparse(value.decode("latin1"))
        if self.valid_origin(origin):
            return await self.application(scope, receive, send)
        return await WebsocketRefusal()(scope, receive, send)  # OriginValidator's, minus the layer

    def valid_origin(self, parsed_origin) -> bool:
        return parsed_origin is None or self.validate_origin(parsed_origin)


def _credentials(scope) -> tuple[str | None, str | None]:
    bearer = None
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, token = value.decode("latin1").partition(" ")
            if scheme.lower() == "bearer" and token:
                bearer = token.strip()
    ticket = parse_qs(scope.get("query_string", b"").decode("latin1")).get("ticket", [None])[0]
    return bearer, ticket


@db_parallel
def _authenticate(bearer: str | None, ticket: str | None):
    if bearer:
        try:
            claims = access_token_claims(bearer)
        except ApplicationError:
            return None
        user_id, session_id = claims.user_id, claims.session_id
    elif ticket:
        claims = ws_ticket_consume(ticket)
        if claims is None:
            return None
        user_id, session_id = claims.user_id, claims.session_id
    else:
        return None
    session = session_get_active(session_id=session_id)
    if session is None or str(session.user_id) != user_id:
        return None
    return session


class WebSocketAuthMiddleware:
    """Put the authenticated `user` and `device_session` into the scope, or refuse the handshake."""

    def __init__(self, inner) -> None:
        self.inner = inner

    async def __call__(self, scope, receive, send):
        session = await _authenticate(*_credentials(scope))
        if session is None:
            return await WebsocketRefusal()(scope, receive, send)
        scope = dict(scope, user=session.user, device_session=session)
        return await self.inner(scope, receive, send)
