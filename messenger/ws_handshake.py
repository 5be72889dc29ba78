"""Refusing a WebSocket handshake, and the Origin check every handshake passes first.

A refused handshake gets HTTP 403, costs no channel-layer channel, and is logged once with its
reason (never with the credentials themselves). Authentication, which comes next, is the accounts
app's (accounts/ws_auth.py).
"""

import logging
from urllib.parse import ParseResult, urlparse

from channels.security.websocket import OriginValidator, WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

logger = logging.getLogger(__name__)


class WebsocketRefusal(WebsocketDenier):
    """Channels' denier (HTTP 403 to the handshake) without a channel-layer channel.

    WebsocketDenier is a consumer, so it subscribes to the channel layer like any other: every
    refused handshake cost a channel and a wait on Redis (and a cancelled channels-redis receive
    can stall an event loop's shutdown). A refusal needs neither.
    """

    channel_layer_alias = None  # no layer of that name: get_channel_layer() gives None


def scope_header(scope, name: bytes) -> str | None:
    for header, value in scope.get("headers", []):
        if header == name:
            return value.decode("latin1")
    return None


async def refuse_handshake(scope, receive, send, *, reason: str, level: int = logging.INFO) -> None:
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
        origin = scope_header(scope, b"origin")
        reason = self.origin_refusal(scope, origin)
        if reason is None:
            return await self.application(scope, receive, send)
        return await refuse_handshake(scope, receive, send, reason=reason, level=logging.WARNING)

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
        host = scope_header(scope, b"host")
        return f"Origin {origin!r} is neither in DJANGO_ALLOWED_ORIGINS nor this server's own (Host {host!r})"

    def is_own_origin(self, scope, origin: ParseResult) -> bool:
        """True if the page that opens the socket was served by this server, under an allowed host.

        Same origin means same scheme (http for ws, https for wss), host and port as the handshake's
        Host header. The Host must be one of ALLOWED_HOSTS, as for every HTTP request: otherwise a
        site that rebinds its DNS name to this server's address would pass as same-origin. The
        scheme comes from the scope or, when a proxy terminates TLS, X-Forwarded-Proto (daphne puts
        no scheme into WebSocket scopes); a browser script can set neither header.
        """
        host = scope_header(scope, b"host")
        if not host:
            return False
        domain, _port = split_domain_port(host)
        if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
            return False
        forwarded = (scope_header(scope, b"x-forwarded-proto") or "").split(",")[0].strip().lower()
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
