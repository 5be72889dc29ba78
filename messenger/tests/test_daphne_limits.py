"""What the server reads from a client is bounded where it reads it (messenger/daphne_limits.py).

In-process, on Twisted's string transports: the point is what is written back and what is kept
at the moment a header announces too much. tests/e2e/test_limits.py does the same against a real
server, and measures its memory during a large upload.
"""

import asyncio
import io
import json
import struct

import pytest
from daphne.ws_protocol import WebSocketFactory
from django.conf import settings
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport

from media.api.upload_handlers import upload_body_max_bytes
from messenger.daphne_limits import (
    BODY_CHUNK_BYTES,
    REFUSED_BODY_LINGER_SECONDS,
    RequestBodyReceiver,
    request_body_max_bytes,
)
from messenger.daphne_speedups import MessengerServer, MessengerWebSocketProtocol

# --- WebSocket ---------------------------------------------------------------------------------


def client_frame(payload: bytes, *, length: int | None = None, fin: bool = True, opcode: int = 0x1) -> bytes:
    """A masked client frame (all-zero mask) announcing `length` bytes, carrying `payload`."""
    length = len(payload) if length is None else length
    head = bytes([(0x80 if fin else 0) | opcode])
    if length < 126:
        head += bytes([0x80 | length])
    elif length < 1 << 16:
        head += bytes([0x80 | 126]) + struct.pack(">H", length)
    else:
        head += bytes([0x80 | 127]) + struct.pack(">Q", length)
    return head + b"\0\0\0\0" + payload


def close_frame(code: int, reason: str) -> bytes:
    payload = struct.pack(">H", code) + reason.encode()
    return bytes([0x88, len(payload)]) + payload


class Transport(StringTransport):
    def unregisterProducer(self) -> None:
        self.producer = None  # as Twisted's TCP transport does when none is registered (StringTransport raises)


@pytest.fixture
def websocket() -> tuple[MessengerWebSocketProtocol, StringTransport, list[bytes]]:
    """The server's protocol past its handshake (the state autobahn's handshake leaves), and what it delivers."""
    server = MessengerServer(application=None, endpoints=["tcp:port=0"])
    server.connections = {}
    server.ws_factory = WebSocketFactory(server, server="daphne")  # the setter applies the limits
    protocol = server.ws_factory.buildProtocol(("127.0.0.1", 40000))
    transport = Transport()
    protocol.makeConnection(transport)
    protocol.state, protocol.websocket_version = protocol.STATE_OPEN, 13
    protocol.inside_message, protocol.current_frame = False, None
    delivered: list[bytes] = []
    protocol.onMessage = lambda payload, is_binary: delivered.append(payload)
    return protocol, transport, delivered


def test_a_frame_at_the_limit_is_delivered(websocket):
    protocol, transport, delivered = websocket
    payload = b"x" * settings.WS_MAX_FRAME_BYTES
    protocol.dataReceived(client_frame(payload))
    assert delivered == [payload]
    assert transport.value() == b""


def test_a_frame_over_the_limit_is_closed_with_1009_before_its_payload_is_read(websocket):
    protocol, transport, delivered = websocket
    limit = settings.WS_MAX_FRAME_BYTES
    protocol.dataReceived(client_frame(b"", length=2 * 1024 * 1024))  # the header alone

    assert transport.value() == close_frame(1009, f"Frames are limited to {limit} bytes.")
    assert protocol.state == protocol.STATE_CLOSING
    assert not transport.disconnecting  # a close handshake, not a dropped connection

    protocol.dataReceived(b"x" * 500_000)  # the payload keeps coming: read and dropped
    assert protocol.data == b"" and protocol.frame_data == []
    assert delivered == []


def test_a_message_over_the_limit_in_several_frames_is_closed_with_1009(websocket):
    protocol, transport, delivered = websocket
    limit = settings.WS_MAX_FRAME_BYTES
    half = b"x" * (limit // 2 + 1)
    protocol.dataReceived(client_frame(half, fin=False))
    assert transport.value() == b""
    protocol.dataReceived(client_frame(half, opcode=0x0))  # continuation: the message is now over
    assert transport.value() == close_frame(1009, f"Frames are limited to {limit} bytes.")
    assert delivered == []


def test_other_protocol_failures_close_with_a_frame_too(websocket):
    protocol, transport, _delivered = websocket
    protocol.dataReceived(client_frame(b"\xff\xfe"))  # not UTF-8
    sent = transport.value()
    assert sent[0] == 0x88 and struct.unpack(">H", sent[2:4]) == (1007,)  # then the connection is closed


# --- HTTP: refusing a body ----------------------------------------------------------------------


class Recorder:
    """An ASGI application that reads the whole body and records each message it received."""

    def __init__(self) -> None:
        self.scope: dict = {}
        self.messages: list[dict] = []
        self.done = asyncio.Event()

    async def __call__(self, scope, receive, send) -> None:
        self.scope = scope
        while True:
            message = await receive()
            self.messages.append(message)
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        self.done.set()


class Channel:
    """One HTTP connection to a MessengerServer, on a string transport and a fake clock."""

    def __init__(self, application=None) -> None:
        self.server = MessengerServer(application=application, endpoints=["tcp:port=0"])
        self.server.connections = {}
        self.server.http_factory = None  # the setter makes the server's own factory
        self.protocol = self.server.http_factory.buildProtocol(("127.0.0.1", 40000))
        self.transport = StringTransport()
        self.protocol.makeConnection(self.transport)
        self.clock = Clock()
        self.protocol._channel.callLater = self.clock.callLater
        self.processed: list = []

    def send(self, data: bytes) -> None:
        self.protocol.dataReceived(data)

    @property
    def request(self):
        return self.protocol._channel.requests[-1]

    def answer(self) -> tuple[bytes, dict]:
        head, _, body = self.transport.value().partition(b"\r\n\r\n")
        return head.split(b"\r\n", 1)[0], json.loads(body)


def headers(method: str, path: str, **fields: str) -> bytes:
    lines = [
        f"{method} {path} HTTP/1.1",
        "Host: 127.0.0.1",
        *(f"{k.replace('_', '-')}: {v}" for k, v in fields.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def too_large(limit: int) -> dict:
    message = f"The request body is limited to {limit} bytes."
    return {"code": "request_too_large", "message": message, "details": {"max_bytes": limit}}


def test_a_declared_body_over_the_limit_is_answered_before_it_is_read(caplog):
    channel = Channel()
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    channel.send(headers("POST", "/api/v1/auth/login", Content_Length=str(90 * 1024 * 1024)))

    status, body = channel.answer()
    assert status == b"HTTP/1.1 413 Content Too Large"
    assert body == too_large(limit)
    assert channel.request.content is None  # nothing stored, nothing to store into
    assert "Request body over its limit of 2621440 bytes: POST /api/v1/auth/login" in caplog.text

    answered = channel.transport.value()
    channel.send(b"x" * 1_000_000)  # what the client sends before it reads the answer is dropped
    assert channel.transport.value() == answered
    assert channel.server.connections[channel.request].get("application_instance") is None
    channel.clock.advance(REFUSED_BODY_LINGER_SECONDS)
    assert channel.transport.disconnecting  # aborted: a client cannot keep it busy


def test_a_refused_body_sent_in_full_closes_the_connection():
    channel = Channel()
    length = settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1
    channel.send(headers("POST", "/api/v1/auth/login", Content_Length=str(length)) + b"x" * length)
    assert channel.answer()[0] == b"HTTP/1.1 413 Content Too Large"
    assert channel.transport.disconnecting
    assert not channel.clock.getDelayedCalls()


def test_a_client_that_expects_100_continue_gets_the_answer_instead():
    channel = Channel()
    channel.send(headers("POST", "/api/v1/auth/login", Content_Length="99999999", Expect="100-continue"))
    assert b"100 Continue" not in channel.transport.value()
    assert channel.answer()[0] == b"HTTP/1.1 413 Content Too Large"
    assert channel.transport.disconnecting


def test_a_chunked_body_is_refused_when_it_passes_the_limit():
    channel = Channel()
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    channel.send(headers("POST", "/api/v1/auth/login", Transfer_Encoding="chunked"))
    chunk = b"x" * 1_000_000
    channel.send(b"%x\r\n%s\r\n" % (len(chunk), chunk) * 2)
    assert channel.transport.value() == b""
    channel.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
    assert channel.answer() == (b"HTTP/1.1 413 Content Too Large", too_large(limit))
    assert channel.request.content is None


def test_the_upload_endpoint_has_a_limit_of_its_own():
    assert request_body_max_bytes("/api/v1/media") == upload_body_max_bytes()
    assert request_body_max_bytes("/api/v1/media?x=1") == upload_body_max_bytes()
    assert upload_body_max_bytes() > 500 * 1024 * 1024
    assert request_body_max_bytes("/api/v1/auth/login") == settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    assert request_body_max_bytes("/api/v1/nope") == settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    assert request_body_max_bytes("/admin/login/") == settings.DATA_UPLOAD_MAX_MEMORY_SIZE


async def test_an_upload_within_its_limit_is_read():
    application = Recorder()
    channel = Channel(application)
    length = settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1
    channel.send(headers("POST", "/api/v1/media", Content_Length=str(length)) + b"x" * length)
    await asyncio.wait_for(application.done.wait(), 5)
    assert sum(len(message["body"]) for message in application.messages) == length
    assert channel.transport.value().startswith(b"HTTP/1.1 204 ")


# --- HTTP: reading a body -----------------------------------------------------------------------


async def test_the_body_reaches_the_application_a_chunk_at_a_time_from_its_file():
    application = Recorder()
    channel = Channel(application)
    body = bytes(range(256)) * 1000  # 256,000 bytes: in a temporary file, not in memory
    channel.send(headers("POST", "/api/v1/auth/login", Content_Length=str(len(body))) + body)
    await asyncio.wait_for(application.done.wait(), 5)

    assert [len(message["body"]) for message in application.messages] == [BODY_CHUNK_BYTES] * 3 + [
        len(body) - 3 * BODY_CHUNK_BYTES
    ]
    assert [message["more_body"] for message in application.messages] == [True, True, True, False]
    assert b"".join(message["body"] for message in application.messages) == body
    assert channel.transport.value().startswith(b"HTTP/1.1 204 ")


async def test_a_malformed_multipart_body_is_left_to_the_application():
    # Twisted parsed multipart POSTs itself, and answered a malformed one with a bare 400.
    application = Recorder()
    channel = Channel(application)
    body = b"--xyz--"
    channel.send(
        headers(
            "POST",
            "/api/v1/auth/login",
            Content_Type="multipart/form-data; boundary=xyz",
            Content_Length=str(len(body)),
        )
        + body
    )
    await asyncio.wait_for(application.done.wait(), 5)
    assert application.messages == [{"type": "http.request", "body": body, "more_body": False}]
    assert channel.transport.value().startswith(b"HTTP/1.1 204 ")


async def test_the_receiver_reads_on_demand_then_passes_daphnes_messages_on():
    queue: asyncio.Queue = asyncio.Queue()
    body = io.BytesIO(b"a" * BODY_CHUNK_BYTES + b"b")
    receiver = RequestBodyReceiver(body, queue)
    queue.put_nowait({"type": "http.request", "body": b"", "more_body": False})  # daphne's own
    queue.put_nowait({"type": "http.disconnect"})

    first = await receiver.receive()
    assert body.tell() == BODY_CHUNK_BYTES  # read when asked for, not before
    assert first == {"type": "http.request", "body": b"a" * BODY_CHUNK_BYTES, "more_body": True}
    assert await receiver.receive() == {"type": "http.request", "body": b"b", "more_body": False}
    assert body.closed
    assert await receiver.receive() == {"type": "http.disconnect"}


async def test_the_receiver_of_a_lost_connection_reports_the_disconnect():
    queue: asyncio.Queue = asyncio.Queue()
    body = io.BytesIO(b"a" * 10)
    body.close()  # the request closes its body file when the connection is lost
    queue.put_nowait({"type": "http.disconnect"})
    assert await RequestBodyReceiver(body, queue).receive() == {"type": "http.disconnect"}


async def test_a_chunked_body_reaches_the_application_with_its_length():
    application = Recorder()
    channel = Channel(application)
    channel.send(headers("POST", "/api/v1/auth/login", Transfer_Encoding="chunked") + b"5\r\nhello\r\n0\r\n\r\n")
    await asyncio.wait_for(application.done.wait(), 5)
    assert application.messages == [{"type": "http.request", "body": b"hello", "more_body": False}]
    assert (b"content-length", b"5") in application.scope["headers"]
    assert not any(name == b"transfer-encoding" for name, _ in application.scope["headers"])
