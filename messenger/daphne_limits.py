"""What daphne reads from a client, bounded where it reads it (the server `python -m messenger.server` runs).

Daphne (4.2.3, on Twisted's HTTP and autobahn's WebSocket protocol) reads whatever a client sends
before the application can refuse it. Here the limits apply in the protocol layer, so an
oversized request costs the server no more than its limit:

- **WebSocket frames.** A message over `WS_MAX_FRAME_BYTES` is refused when its frame header
  announces the length, before any of its payload is read: the socket is closed with 1009
  (Message Too Big) and the rest of the frame is read and dropped. Autobahn's own limits stay
  daphne's (1 MiB, which also bounds what the server sends); this one is for what it receives.
  The close is a WebSocket close frame, not a dropped connection (autobahn's server default
  drops the TCP connection on every protocol failure).
- **Request bodies.** Twisted parses a `multipart/form-data` POST into memory (several copies of
  the body) and answers a malformed one with a bare 400 before daphne sees it; that parse is off,
  so Django's streaming parser is the only one and its errors are the API's JSON errors. A
  body longer than the endpoint allows (`request_body_max_bytes()`) is answered 413
  `request_too_large` as soon as its length is known: from `Content-Length` before any of it is
  read, or as a chunked body passes the limit. What a client sends after that is dropped for
  at most REFUSED_BODY_LINGER_SECONDS, so that it reads the answer rather than a reset.
- **Bodies reach the application as it reads them.** Twisted keeps a request's body in memory
  below 100,000 bytes and in a temporary file above; daphne then put all of it on the
  application's queue at once (the whole body in memory, a 90 MiB upload at once). Here the
  application is handed BODY_CHUNK_BYTES at a time from that file as it asks for the next one.
  A chunked body comes with the Content-Length it turned out to have (Django reads a body
  without one as empty).

A request therefore costs at most its limit on disk, and in memory a fixed amount on top of what
the application keeps (Django spools bodies past FILE_UPLOAD_MAX_MEMORY_SIZE to disk, and the
upload endpoint streams the file to its storage). The limits are the endpoint's own: a view
class may define `request_body_max_bytes()`; every other path allows
`DATA_UPLOAD_MAX_MEMORY_SIZE`, Django's limit for a request's non-file data.
"""

import asyncio
import io
import json
import logging
from typing import IO, Any
from urllib.parse import unquote

from daphne.http_protocol import HTTPFactory, WebRequest
from daphne.ws_protocol import WebSocketProtocol
from django.conf import settings
from django.urls import Resolver404, resolve

from messenger.errors import error_body

logger = logging.getLogger("messenger.requests")

BODY_CHUNK_BYTES = 64 * 1024  # Django's multipart parser reads 64 KiB at a time too
REFUSED_BODY_LINGER_SECONDS = 10


def request_body_max_bytes(path: str) -> int:
    """The largest request body the endpoint at `path` (a raw request target) accepts."""
    try:
        match = resolve(unquote(path.split("?", 1)[0]))
    except Resolver404:
        return settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    limit = getattr(getattr(match.func, "view_class", None), "request_body_max_bytes", None)
    return limit() if limit is not None else settings.DATA_UPLOAD_MAX_MEMORY_SIZE


class BoundedWebSocketProtocol(WebSocketProtocol):
    """Daphne's WebSocket protocol, refusing a message over `factory.max_incoming_message_bytes`."""

    def onMessageFrameBegin(self, length: int) -> None:
        limit = self.factory.max_incoming_message_bytes
        size = self.message_data_total_length + length  # a message may come in several frames
        if not self.failedByMe and size > limit:
            # Sends the 1009 close; from here on autobahn discards the frames' data as it arrives.
            self._max_message_size_exceeded(size, limit, f"Frames are limited to {limit} bytes.")
        super().onMessageFrameBegin(length)


def bound_websocket_factory(factory) -> None:
    """Options of `factory` for BoundedWebSocketProtocol (set where the server makes the factory)."""
    factory.max_incoming_message_bytes = settings.WS_MAX_FRAME_BYTES
    # Fail a connection with a close frame (1009, 1002, 1007...) rather than dropping it.
    factory.setProtocolOptions(failByDrop=False)


class BoundedWebRequest(WebRequest):
    """Daphne's HTTP request, with its body bounded and handed to the application in chunks."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, parsePOSTFormSubmission=False, **kwargs)
        self.body_file: IO[bytes] | None = None
        self._body_limit = 0
        self._body_received = 0
        self._refused = False
        self._linger = None

    # --- Twisted's channel calls these while the request comes in ---------------------------------

    def gotLength(self, length: int | None) -> None:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if length is None or length > limit:  # only then is the endpoint's own limit needed
            limit = request_body_max_bytes(self.channel._path.decode("latin-1"))
        self._body_limit = limit
        if length is not None and length > limit:
            self._refuse_body(limit)
            return
        super().gotLength(length)

    def handleContentChunk(self, data: bytes) -> None:
        if self._refused:
            return  # dropped: the answer is on its way
        self._body_received += len(data)
        if self._body_received > self._body_limit:  # a chunked body (a declared length is checked before)
            self._refuse_body(self._body_limit)
            return
        super().handleContentChunk(data)

    def requestReceived(self, command: bytes, path: bytes, version: bytes) -> None:
        if self._refused:
            self._close_refused()
            return
        super().requestReceived(command, path, version)

    # --- daphne ------------------------------------------------------------------------------------

    def process(self):
        # Daphne queues `self.content` for the application in one go; it gets an empty body to
        # queue instead, and MessengerServer hands the application `body_file` chunk by chunk.
        self.body_file, self.content = self.content, io.BytesIO()
        if self.requestHeaders.hasHeader(b"transfer-encoding"):
            # A chunked body is whole by now. Django reads a body without a Content-Length as empty
            # (an upload would arrive without its file), so the application is told its length.
            length = self.body_file.seek(0, io.SEEK_END)
            self.body_file.seek(0)
            self.requestHeaders.removeHeader(b"transfer-encoding")
            self.requestHeaders.setRawHeaders(b"content-length", [str(length).encode()])
        return super().process()

    def finish(self) -> None:
        self._close_body()
        super().finish()

    def connectionLost(self, reason) -> None:
        self._close_body()
        if self._linger is not None and self._linger.active():
            self._linger.cancel()
        super().connectionLost(reason)

    def _close_body(self) -> None:
        if self.body_file is not None:
            self.body_file.close()
            self.body_file = None

    # --- refusing an oversized body ----------------------------------------------------------------

    def _refuse_body(self, limit: int) -> None:
        self._refused = True
        if self.content is not None:
            self.content.close()
            self.content = None
        transport = self.channel.transport
        body = json.dumps(
            error_body("request_too_large", f"The request body is limited to {limit} bytes.", {"max_bytes": limit}),
            separators=(",", ":"),
        ).encode()
        transport.write(
            b"HTTP/1.1 413 Content Too Large\r\n"
            b"Content-Type: application/json\r\n"
            b"X-Content-Type-Options: nosniff\r\n"
            b"Content-Length: %d\r\n"
            b"Connection: close\r\n\r\n" % len(body) + body
        )
        logger.warning(
            "Request body over its limit of %d bytes: %s %s",
            limit,
            self.channel._command.decode("latin-1"),
            self.channel._path.decode("latin-1")[:200],
        )
        if self.requestHeaders.hasHeader(b"expect"):
            # The client waits for "100 Continue" (which Twisted must not send now) or an answer.
            self.requestHeaders.removeHeader(b"expect")
            self._close_refused()
            return
        self._linger = self.channel.callLater(REFUSED_BODY_LINGER_SECONDS, transport.abortConnection)

    def _close_refused(self) -> None:
        if self._linger is not None and self._linger.active():
            self._linger.cancel()
        self.channel.transport.loseConnection()


class BoundedHTTPFactory(HTTPFactory):
    """Daphne's HTTP factory, making BoundedWebRequests."""

    def buildProtocol(self, addr):
        protocol = super().buildProtocol(addr)
        protocol.requestFactory = BoundedWebRequest
        return protocol


class RequestBodyReceiver:
    """An HTTP application's `receive`: the body from its file, a chunk per call, then daphne's queue."""

    def __init__(self, body_file: IO[bytes], queue: asyncio.Queue) -> None:
        self.body_file: IO[bytes] | None = body_file
        self.queue = queue

    async def receive(self) -> dict[str, Any]:
        body_file = self.body_file
        if body_file is not None:
            if body_file.closed:  # the connection is gone (daphne has queued http.disconnect)
                self.body_file = None
            else:
                chunk = body_file.read(BODY_CHUNK_BYTES)
                more_body = len(chunk) == BODY_CHUNK_BYTES
                if not more_body:
                    self.body_file = None
                    body_file.close()
                return {"type": "http.request", "body": chunk, "more_body": more_body}
        while True:
            message = await self.queue.get()
            if message["type"] != "http.request":  # daphne's own (empty) body message is skipped
                return message
