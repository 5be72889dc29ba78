"""GET /api/v1/chats/{id}/messages in one SQL statement, in front of Django: a second path on purpose.

History paging is the REST endpoint clients call most, and Django's and DRF's request cycle costs
several times what the page's query does (bench/RESULTS.md, S4). So an ASGI wrapper in front of
Django answers the ordinary request itself: the token and the session are checked by
accounts.session_check, and one statement checks the session and the membership and renders the
page as JSON text (chats.payloads.MESSAGE_FIELDS, the field list every message payload comes
from, rendered in SQL), which is sent as it comes.

Only the ordinary request is served here: a GET with a valid bearer token for an active session
of a member, plain numeric `before` / `after` / `limit`, no `Origin` (CORS), an allowed host, and
a secure request where Django would redirect to HTTPS. Everything else (errors included) goes on
to Django, which answers as documented; so the documented view (`MessageListView`) stays the
reference, and `chats/tests/test_history_fast_path.py` holds both to the same bytes and headers.

Set REST_HISTORY_FAST_PATH=false to send every request through Django.
"""

import asyncio
import logging
import re
import uuid
import weakref
from datetime import UTC, datetime
from urllib.parse import parse_qsl

from django.conf import settings
from django.http.request import split_domain_port, validate_host
from django.urls import reverse
from psycopg import Error as DatabaseError
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from accounts.session_check import ACTIVE_SESSION_SQL, TOUCH_SQL, bearer_claims, touch_due
from chats.api.views import HISTORY_PAGE_DEFAULT, HISTORY_PAGE_MAX, MessageListView
from chats.models import Chat, ChatMember, Message, MessageHidden
from chats.payloads import MESSAGE_JSON_SQL
from messenger.db import async_pool

logger = logging.getLogger(__name__)

_NO_BEFORE = 2**63 - 1  # seq is a bigint: "before the end"
_NO_AFTER = -1
_POOL_WAIT_SECONDS = 5  # then Django answers (on its own connections)
_NUMBER = re.compile(r"[0-9]{1,18}")
_UUID = r"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"  # Django's <uuid:>


# --- the statement ----------------------------------------------------------------------------


def _page_sql(order: str) -> str:
    """The statement for one paging direction: `order` is DESC (backward) or ASC (forward).

    Returns the session's last_used_at (NULL: no such active session for this user), whether the
    user is a member of the live chat, and the body {"results": [...], "has_more": ...}: the
    messages the user sees (not those they deleted for themselves), rendered for them (`me`).
    """
    return f"""
WITH session AS (
    {ACTIVE_SESSION_SQL}
), member AS (
    SELECT 1 FROM {ChatMember._meta.db_table} cm JOIN {Chat._meta.db_table} c ON c.id = cm.chat_id
    WHERE cm.chat_id = %(chat)s AND cm.user_id = %(user)s AND c.deleted_at IS NULL
), page AS (
    SELECT m.* FROM {Message._meta.db_table} m
    WHERE m.chat_id = %(chat)s AND m.seq < %(before)s AND m.seq > %(after)s
      AND EXISTS (SELECT 1 FROM session) AND EXISTS (SELECT 1 FROM member)
      AND NOT EXISTS (SELECT 1 FROM {MessageHidden._meta.db_table} h WHERE h.user_id = %(user)s AND h.message_id = m.id)
    ORDER BY m.seq {order} LIMIT %(limit)s + 1
), shown AS (
    SELECT * FROM page ORDER BY seq {order} LIMIT %(limit)s
)
SELECT
    (SELECT last_used_at FROM session),
    EXISTS (SELECT 1 FROM member),
    '{{"results":[' || coalesce((SELECT string_agg({MESSAGE_JSON_SQL}, ',' ORDER BY m.seq) FROM shown m), '')
        || '],"has_more":' || ((SELECT count(*) FROM page) > %(limit)s)::text || '}}'
"""


_BACKWARD_SQL = _page_sql("DESC")
_FORWARD_SQL = _page_sql("ASC")


def _path_parts(name: str, argument: str) -> tuple[str, str]:
    """A URL pattern's text before and after its one uuid argument."""
    marker = str(uuid.UUID(int=0))
    before, _, after = reverse(name, kwargs={argument: marker}).partition(marker)
    return before, after


# --- the connection pool ----------------------------------------------------------------------

_pools: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Task]" = weakref.WeakKeyDictionary()


async def _pool() -> AsyncConnectionPool:
    """This event loop's pool for the fast path, opened on first use (server processes keep it)."""
    loop = asyncio.get_running_loop()
    opening = _pools.get(loop)
    if opening is None:
        pool = async_pool()

        async def open_pool() -> AsyncConnectionPool:
            await pool.open()
            return pool

        opening = _pools[loop] = loop.create_task(open_pool())
    try:
        return await opening
    except Exception:
        if _pools.get(loop) is opening:
            del _pools[loop]  # the next request tries again
        raise


async def close_pool() -> None:
    """Close this loop's pool (tests: each test's event loop would otherwise keep connections)."""
    opening = _pools.pop(asyncio.get_running_loop(), None)
    if opening is not None:
        await (await opening).close()


# --- the ASGI wrapper -------------------------------------------------------------------------


class HistoryFastPath:
    """ASGI middleware in front of Django's application; see the module docstring.

    Settings are read once, when the server builds its application.
    """

    def __init__(self, app) -> None:
        self.app = app
        self.enabled = settings.REST_HISTORY_FAST_PATH
        prefix, suffix = _path_parts("chats-messages", "chat_id")
        self.route = re.compile(re.escape(prefix) + _UUID + re.escape(suffix))
        download_prefix, download_suffix = _path_parts("media-download", "attachment_id")
        thumbnail_prefix, thumbnail_suffix = _path_parts("media-thumbnail", "attachment_id")
        self.paths = {
            "download_prefix": download_prefix,
            "download_suffix": download_suffix,
            "thumbnail_prefix": thumbnail_prefix,
            "thumbnail_suffix": thumbnail_suffix,
        }
        self.headers = _response_headers()
        self.hsts = _hsts_header()
        self.allowed_hosts = settings.ALLOWED_HOSTS
        if settings.DEBUG and not self.allowed_hosts:
            self.allowed_hosts = [".localhost", "127.0.0.1", "[::1]"]  # as HttpRequest.get_host()
        self.use_forwarded_host = settings.USE_X_FORWARDED_HOST
        self.ssl_redirect = settings.SECURE_SSL_REDIRECT  # its exempt paths are not this one
        self.proxy_ssl_header: tuple[bytes, str] | None = None
        if settings.SECURE_PROXY_SSL_HEADER:
            header, value = settings.SECURE_PROXY_SSL_HEADER
            self.proxy_ssl_header = (header.removeprefix("HTTP_").replace("_", "-").lower().encode("latin1"), value)

    async def __call__(self, scope, receive, send) -> None:
        if self.enabled and scope["type"] == "http" and scope["method"] == "GET":
            match = self.route.fullmatch(scope["path"])
            if match is not None and await self._serve(scope, send, match.group(1)):
                return
        await self.app(scope, receive, send)

    async def _serve(self, scope, send, chat_id: str) -> bool:
        """Answer the request and return True, or return False having sent nothing."""
        request = self._read_request(scope)
        if request is None:
            return False
        bearer, query, secure = request
        claims = bearer_claims(bearer)
        if claims is None:
            return False  # Django answers 401
        session_id = claims.session_id
        params = {"session": session_id, "user": claims.user_id, "chat": chat_id, **query, **self.paths}
        sql = _FORWARD_SQL if query["after"] != _NO_AFTER else _BACKWARD_SQL
        try:
            pool = await _pool()
            async with pool.connection(timeout=_POOL_WAIT_SECONDS) as connection:
                last_used_at, is_member, body = await (await connection.execute(sql, params)).fetchone()
                if last_used_at is None or not is_member:
                    return False  # Django answers 401 session_revoked / 404 not_found
                now = datetime.now(UTC)
                if touch_due(last_used_at, now):
                    await connection.execute(TOUCH_SQL, {"now": now, "session": session_id})
        except (DatabaseError, PoolTimeout):
            logger.warning("History fast path failed; Django answers instead", exc_info=True)
            return False
        # DRF's JSONRenderer escapes these two for JavaScript; PostgreSQL's to_json does not.
        content = body.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029").encode()
        headers = [(b"content-length", str(len(content)).encode()), *self.headers]
        if secure and self.hsts is not None:
            headers.append(self.hsts)
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": content})
        return True

    def _read_request(self, scope) -> tuple[str, dict, bool] | None:
        """(bearer token, page parameters, is secure) if this path serves the request, else None."""
        bearer = host = forwarded_host = forwarded_proto = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                parts = value.split()
                if len(parts) != 2 or parts[0] != b"Bearer" or bearer is not None:
                    return None
                bearer = parts[1].decode("latin1")
            elif name == b"host":
                if host is not None:
                    return None  # Django joins repeated headers (and then refuses the host)
                host = value.decode("latin1")
            elif name == b"origin":
                return None  # CORS: django-cors-headers decides the headers
            elif name == b"accept":
                if value not in (b"application/json", b"*/*"):
                    return None  # DRF's content negotiation
            elif name == b"x-forwarded-host":
                if forwarded_host is not None:
                    return None
                forwarded_host = value.decode("latin1")
            elif self.proxy_ssl_header is not None and name == self.proxy_ssl_header[0]:
                if forwarded_proto is not None:
                    return None
                forwarded_proto = value.decode("latin1")
        if self.use_forwarded_host and forwarded_host:
            host = forwarded_host
        if bearer is None or not self._host_allowed(host):
            return None  # Django answers 401, or 400 for a host it does not serve
        if self.proxy_ssl_header is not None and forwarded_proto is not None:
            secure = forwarded_proto.split(",", 1)[0].strip() == self.proxy_ssl_header[1]
        else:
            secure = scope.get("scheme") == "https"
        if self.ssl_redirect and not secure:
            return None  # Django redirects to HTTPS
        query = _page_query(scope["query_string"])
        if query is None:
            return None
        return bearer, query, secure

    def _host_allowed(self, host: str | None) -> bool:
        """HttpRequest.get_host()'s check, which CommonMiddleware makes on every request."""
        if not host:
            return False
        domain, _port = split_domain_port(host)
        return bool(domain) and validate_host(domain, self.allowed_hosts)


def _page_query(query_string: bytes) -> dict | None:
    """before / after / limit as plain in-range numbers (anything else: DRF validates it)."""
    values = {}
    for name, value in parse_qsl(query_string.decode("latin1"), keep_blank_values=True):
        if name not in ("before", "after", "limit") or name in values or not _NUMBER.fullmatch(value):
            return None
        values[name] = int(value)
    query = {
        "before": values.get("before", _NO_BEFORE),
        "after": values.get("after", _NO_AFTER),
        "limit": values.get("limit", HISTORY_PAGE_DEFAULT),
    }
    if query["before"] < 1 or not 1 <= query["limit"] <= HISTORY_PAGE_MAX:
        return None
    return query


def _hsts_header() -> tuple[bytes, bytes] | None:
    """SecurityMiddleware's Strict-Transport-Security (on secure requests)."""
    if not settings.SECURE_HSTS_SECONDS:
        return None
    value = f"max-age={settings.SECURE_HSTS_SECONDS}"
    if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
        value += "; includeSubDomains"
    if settings.SECURE_HSTS_PRELOAD:
        value += "; preload"
    return (b"strict-transport-security", value.encode())


def _response_headers() -> list[tuple[bytes, bytes]]:
    """The headers DRF's view and Django's middleware put on this endpoint's 200 response."""
    view = MessageListView()
    view.head = view.get  # as View.setup() does for every view with a GET
    headers = [
        (b"content-type", b"application/json"),
        (b"allow", ", ".join(view.allowed_methods).encode()),
        (b"x-frame-options", settings.X_FRAME_OPTIONS.upper().encode()),
        (b"vary", b"origin"),  # django-cors-headers, on every response under CORS_URLS_REGEX
    ]
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        headers.append((b"x-content-type-options", b"nosniff"))
    if settings.SECURE_REFERRER_POLICY:
        policy = settings.SECURE_REFERRER_POLICY
        policy = policy if isinstance(policy, str) else ",".join(policy)
        headers.append((b"referrer-policy", policy.encode()))
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        headers.append((b"cross-origin-opener-policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY.encode()))
    return headers
