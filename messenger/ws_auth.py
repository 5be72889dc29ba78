"""WebSocket handshake gatekeeping: Origin check and authentication.

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

import logging
from urllib.parse import ParseResult, parse_qs, urlparse

from channels.security.websocket import OriginValidator, WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

from accounts.selectors import session_get_active
from accounts.services import ws_ticket_consume
from accounts.tokens import access_token_claims
from messenger.db import db_parallel
from messenger.errors import ApplicationError

logger = logging.getLogger(__name__)


class WebsocketRefusal(WebsocketDenier):
    """Channels' denier (HTTP 403 to the handshake) without a channel-layer channel.

    WebsocketDenier is a consumer, so it subscribes to the channel layer like any other: every
    refused handshake cost a channel and a wait on Redis (and a cancelled channels-redis receive
    can stall an event loop's shutdown). A refusal needs neither.
    """

    channel_layer_alias = None  # no layer of that name: get_channel_layer() gives None


def _header(scope, name: bytes) -> str | None:
    for header, value in scope.get("headers", []):
        if header == name:
            return value.decode("latin1")
    return None


async def _refuse(scope, receive, send, *, reason: str, level: int = logging.INFO) -> None:
    client = scope.get("client") or ("?", "?")
    logger.log(level, "WebSocket handshake from %s:%s refused: %s", client[0], client[1], reason)
    await WebsocketRefusal()(scope, receive, send)


class BrowserOriginValidator(OriginValidator):
    """Refuse handshakes whose Origin is not allowed.

    Native clients (mobile apps, bots) send no Origin header and are let through: the check
    exists to stop other web sites from using a visitor's browser, and browsers always send it.
    Allowed are the origins in DJANGO_ALLOWED_ORIGINS and, outside production
    (settings.ALLOW_OWN_ORIGIN), the origin of the server itself as the browser addressed it, so
    the web client works on whatever host and port `scripts/serve` listens.
    """

    async def __call__(self, scope, receive, send):
        origin = _header(scope, b"origin")
        reason = self.origin_refusal(scope, origin)
        if reason is None:
            return await self.application(scope, receive, send)
        return await _refuse(scope, receive, send, reason=reason, level=logging.WARNING)

    def origin_refusal(self, scope, origin: str | None) -> str | None:
        """None if a handshake with this Origin header may proceed; otherwise why not."""
        if origin is None:
            return None
        try:
            parsed = urlparse(origin)
            parsed.port  # noqa: B018 - raises ValueError on a port that is not a number
        except ValueError:
            return f"malformed Origin {origin!r}"
        if self.validate_origin(parsed):
            return None
        if not settings.ALLOW_OWN_ORIGIN:
            return f"Origin {origin!r} is not in DJANGO_ALLOWED_ORIGINS"
        if self.is_own_origin(scope, parsed):
            return None
        host = _header(scope, b"host")
        return f"Origin {origin!r} is neither in DJANGO_ALLOWED_ORIGINS nor this server's own (Host {host!r})"

    def is_own_origin(self, scope, origin: ParseResult) -> bool:
        """True if the page that opens the socket was served by this server, under an allowed host.

        Same origin means same scheme (http for ws, https for wss), host and port as the handshake's
        Host header. The Host must be one of ALLOWED_HOSTS, as for every HTTP request: otherwise a
        site that rebinds its DNS name to this server's address would pass as same-origin. The
        scheme comes from the scope or, when a proxy terminates TLS, X-Forwarded-Proto (daphne puts
        no scheme into WebSocket scopes); a browser script can set neither header.
        """
        host = _header(scope, b"host")
        if not host:
            return False
        domain, _port = split_domain_port(host)
        if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
            return False
        forwarded = (_header(scope, b"x-forwarded-proto") or "").split(",")[0].strip().lower()
        secure = scope.get("scheme") == "wss" or forwarded == "https"
        expected = "https" if secure else "http"
        try:
            server = urlparse(f"{expected}://{host}")
            server_port = self.get_origin_port(server)
        except ValueError:
            return False
        return (
            origin.scheme == expected
            and origin.hostname == server.hostname
            and self.get_origin_port(origin) == server_port
        )


def _credentials(scope) -> tuple[str | None, str | None]:
    bearer = None
    authorization = _header(scope, b"authorization")
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
            return await _refuse(scope, receive, send, reason=reason)
        scope = dict(scope, user=session.user, device_session=session)
        return await self.inner(scope, receive, send)
