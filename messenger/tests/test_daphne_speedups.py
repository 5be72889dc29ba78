"""The server `python -m messenger.server` runs: daphne's behaviour, at the cost of what changed.

These drive `MessengerServer` and its WebSocket protocol in-process (no reactor running); the
end-to-end tests run the real server (tests/e2e, keep-alive pings in test_keepalive.py).
"""

import asyncio
import contextlib
import logging
import socket

import pytest
from daphne.ws_protocol import WebSocketFactory, WebSocketProtocol
from twisted.internet import tcp
from twisted.internet.testing import StringTransport

from messenger import daphne_speedups
from messenger.daphne_speedups import MessengerServer, MessengerWebSocketProtocol


class FakeReactor:
    def __init__(self) -> None:
        self.scheduled: list[tuple[float, object]] = []

    def callLater(self, delay: float, function) -> None:
        self.scheduled.append((delay, function))


@pytest.fixture
def reactor(monkeypatch) -> FakeReactor:
    fake = FakeReactor()
    monkeypatch.setattr(daphne_speedups, "reactor", fake)
    return fake


class App:
    """An ASGI application per connection that runs until the test says how it ends."""

    def __init__(self) -> None:
        self.endings: dict[str, asyncio.Future] = {}

    async def __call__(self, scope, receive, send) -> None:
        ending = self.endings[scope["name"]] = asyncio.get_running_loop().create_future()
        outcome = await ending
        if isinstance(outcome, BaseException):
            raise outcome


class Connection:
    """What daphne keeps per connection, as far as the sweeps look at it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.handled: list[BaseException] = []

    def handle_exception(self, exception: BaseException) -> None:
        self.handled.append(exception)

    def __repr__(self) -> str:
        return f"<Connection {self.name}>"


def make_server(application=None) -> MessengerServer:
    server = MessengerServer(application=application, endpoints=["tcp:port=0"])
    server.connections = {}  # Server.run's first step
    return server


async def settle() -> None:
    for _ in range(3):
        await asyncio.sleep(0)


async def test_application_checker_reaps_what_finished_and_keeps_what_runs(reactor, caplog):
    app = App()
    server = make_server(app)
    connections = {name: Connection(name) for name in ("finished", "failed", "closing", "busy")}
    for name, connection in connections.items():
        server.protocol_connected(connection)
        server.create_application(connection, {"type": "websocket", "name": name})
    await settle()

    app.endings["finished"].set_result(None)
    server.protocol_disconnected(connections["finished"])
    failure = ValueError("boom")
    app.endings["failed"].set_result(failure)  # still connected: the protocol is told
    server.protocol_disconnected(connections["closing"])  # its application is still running
    await settle()
    with caplog.at_level(logging.ERROR, logger="daphne.server"):
        server.application_checker()

    assert set(server.connections) == {connections["failed"], connections["closing"], connections["busy"]}
    assert "application_instance" not in server.connections[connections["failed"]]
    assert connections["failed"].handled == [failure]
    assert "Exception inside application: boom" in caplog.text
    assert not server.connections[connections["busy"]]["application_instance"].done()
    assert reactor.scheduled == [(1, server.application_checker)]

    # The failed connection goes once it disconnects; the closing one once its application ends.
    server.protocol_disconnected(connections["failed"])
    app.endings["closing"].set_result(None)
    await settle()
    server.application_checker()
    assert set(server.connections) == {connections["busy"]}
    assert connections["failed"].handled == [failure]  # told once


async def test_application_checker_kills_an_application_that_outlives_its_connection(reactor, caplog):
    app = App()
    server = make_server(app)
    server.application_close_timeout = 0
    connection = Connection("stuck")
    server.protocol_connected(connection)
    server.create_application(connection, {"type": "websocket", "name": "stuck"})
    await settle()
    server.protocol_disconnected(connection)
    server.connections[connection]["disconnected"] -= 1  # past the (zero) close timeout

    with caplog.at_level(logging.WARNING, logger="daphne.server"):
        server.application_checker()
    assert "took too long to shut down and was killed" in caplog.text
    instance = server.connections[connection]["application_instance"]
    await settle()
    assert instance.cancelled()

    server.application_checker()  # a cancelled application is reaped without an error
    assert server.connections == {}


async def test_application_checker_without_changes_touches_nothing(reactor):
    app = App()
    server = make_server(app)
    connection = Connection("quiet")
    server.protocol_connected(connection)
    server.create_application(connection, {"type": "websocket", "name": "quiet"})
    await settle()
    details = server.connections[connection]
    server.connections[connection] = None  # daphne's sweep would fail on this entry; ours never reads it

    server.application_checker()
    server.connections[connection] = details
    app.endings["quiet"].set_result(None)
    await settle()
    server.application_checker()  # now it finished, and is looked at
    assert "application_instance" not in server.connections[connection]


class Checked:
    """A protocol whose check_timeouts records that the sweep called it."""

    def __init__(self, protocol, calls: list) -> None:
        self.protocol = protocol
        protocol.check_timeouts = lambda: calls.append(protocol)


def websocket(*, state: int, opened_ago: float, last_ping_ago: float, now: float) -> MessengerWebSocketProtocol:
    protocol = MessengerWebSocketProtocol()
    protocol.state = state
    protocol.socket_opened = now - opened_ago
    protocol.last_ping = now - last_ping_ago
    return protocol


def test_timeout_checker_calls_only_protocols_with_something_due(reactor, monkeypatch):
    now = 1_000_000.0
    monkeypatch.setattr(daphne_speedups.time, "time", lambda: now)
    server = make_server()
    server.ping_interval, server.websocket_timeout = 30, 86400
    open_, connecting = MessengerWebSocketProtocol.STATE_OPEN, MessengerWebSocketProtocol.STATE_CONNECTING
    quiet = websocket(state=open_, opened_ago=60, last_ping_ago=10, now=now)
    ping_due = websocket(state=open_, opened_ago=60, last_ping_ago=31, now=now)
    too_old = websocket(state=open_, opened_ago=86401, last_ping_ago=1, now=now)
    handshaking = websocket(state=connecting, opened_ago=1, last_ping_ago=1, now=now)
    http_request = Connection("http")
    calls: list = []
    for protocol in (quiet, ping_due, too_old, handshaking, http_request):
        Checked(protocol, calls)
        server.connections[protocol] = {}

    server.timeout_checker()
    assert calls == [ping_due, too_old, handshaking, http_request]
    assert reactor.scheduled == [(2, server.timeout_checker)]

    server.websocket_timeout = -1  # no lifetime limit
    calls.clear()
    server.timeout_checker()
    assert calls == [ping_due, handshaking, http_request]


def test_timeout_checker_pings_an_idle_socket(reactor):
    server = make_server()
    server.ws_factory = WebSocketFactory(server, server="daphne")
    server.ws_factory.setProtocolOptions(autoPingTimeout=0)
    server.ping_interval = 30
    protocol, transport = open_protocol(server.ws_factory, MessengerWebSocketProtocol)
    protocol.socket_opened = protocol.last_ping = daphne_speedups.time.time() - 31
    server.connections[protocol] = {}

    server.timeout_checker()
    frame = transport.value()
    assert frame[0] == 0x89 and frame[1] == len(frame) - 2  # FIN + ping, unmasked, autobahn's payload
    transport.clear()
    server.timeout_checker()
    assert transport.value() == b""  # not again before the interval


def open_protocol(factory: WebSocketFactory, cls: type) -> tuple[WebSocketProtocol, StringTransport]:
    """A protocol past its handshake, writing to a string (the state daphne's onOpen leaves)."""
    factory.protocol = cls
    protocol = factory.buildProtocol(("127.0.0.1", 40000))
    transport = StringTransport()
    protocol.makeConnection(transport)
    protocol.state = protocol.STATE_OPEN
    protocol.server = factory.server_class
    protocol.client_addr = ("127.0.0.1", 40000)
    return protocol, transport


TEXTS = ["", "hi", "x" * 125, "x" * 126, "é" * 40_000, '{"type":"message:new","data":{"text":"\u2028 \U0001f600"}}']


@pytest.mark.parametrize("text", TEXTS, ids=lambda text: f"{len(text.encode())}-bytes")
def test_text_frames_are_daphnes(text):
    server = make_server()
    server.ws_factory = WebSocketFactory(server, server="daphne")
    ours, our_transport = open_protocol(server.ws_factory, MessengerWebSocketProtocol)
    theirs, their_transport = open_protocol(WebSocketFactory(server, server="daphne"), WebSocketProtocol)
    ours.serverSend(text)
    theirs.serverSend(text)
    assert our_transport.value() == their_transport.value()
    ours.serverSend(b"\x00\x01", True)
    theirs.serverSend(b"\x00\x01", True)
    assert our_transport.value() == their_transport.value()


def test_one_text_to_many_sockets_is_framed_once(monkeypatch):
    server = make_server()
    server.ws_factory = WebSocketFactory(server, server="daphne")
    prepared: list[bytes] = []
    prepare = server.ws_factory.prepareMessage

    def counting_prepare(payload: bytes):
        prepared.append(payload)
        return prepare(payload)

    monkeypatch.setattr(server.ws_factory, "prepareMessage", counting_prepare)
    sockets = [open_protocol(server.ws_factory, MessengerWebSocketProtocol) for _ in range(3)]
    group_message, other = "x" * 300, "y" * 10

    for protocol, _ in sockets:
        protocol.serverSend(group_message)
    sockets[0][0].serverSend(other)
    sockets[1][0].serverSend(group_message)  # the cache held `other` meanwhile: framed again

    assert prepared == [group_message.encode(), other.encode(), group_message.encode()]
    frames = [transport.value() for _, transport in sockets]
    assert frames[2] == bytes([0x81, 126, 1, 44]) + group_message.encode()
    assert frames[0] == frames[2] + bytes([0x81, 10]) + other.encode()
    assert frames[1] == frames[2] * 2


def test_sending_on_a_closing_socket_fails_as_in_daphne():
    server = make_server()
    server.ws_factory = WebSocketFactory(server, server="daphne")
    protocol, transport = open_protocol(server.ws_factory, MessengerWebSocketProtocol)
    protocol.sendClose(code=1000)
    sent = transport.value()
    with pytest.raises(Exception, match="closed protocol"):
        protocol.serverSend("late")
    assert transport.value() == sent  # nothing after the close frame


def test_oversized_text_is_refused_as_in_daphne():
    server = make_server()
    server.ws_factory = WebSocketFactory(server, server="daphne")
    server.ws_factory.setProtocolOptions(maxMessagePayloadSize=10)
    protocol, transport = open_protocol(server.ws_factory, MessengerWebSocketProtocol)
    with pytest.raises(Exception, match="exceeding payload limit"):
        protocol.serverSend("x" * 11)
    assert transport.value() == b""


@pytest.fixture
def tcp_socket():
    """A daphne WebSocket on a real (socketpair) TCP transport, and the client's end of it."""
    server = make_server()
    server.ws_factory = WebSocketFactory(server, server="daphne")
    server.ws_factory.protocol = MessengerWebSocketProtocol
    ours, client = socket.socketpair()
    ours.setblocking(False)
    client.setblocking(False)
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    protocol = server.ws_factory.buildProtocol(("127.0.0.1", 40000))
    transport = tcp.Server(ours, protocol, ("127.0.0.1", 40000), None, 1, daphne_speedups.reactor)
    protocol.makeConnection(transport)
    protocol.state, protocol.server, protocol.client_addr = protocol.STATE_OPEN, server, ("127.0.0.1", 40000)
    yield protocol, transport, client
    transport.stopReading()
    transport.stopWriting()
    ours.close()
    client.close()


def drain(client: socket.socket) -> bytes:
    received = b""
    with contextlib.suppress(BlockingIOError):
        while chunk := client.recv(1 << 20):
            received += chunk
    return received


def text_frame(text: str) -> bytes:
    return WebSocketFactory(None).prepareMessage(text.encode()).payloadHybi


def test_a_frame_goes_straight_to_an_idle_socket(tcp_socket):
    protocol, transport, client = tcp_socket
    protocol.serverSend("hello")
    assert drain(client) == text_frame("hello")  # no reactor turn needed
    assert not transport._tempDataBuffer


def test_what_the_socket_cannot_take_waits_in_twisted_in_order(tcp_socket):
    protocol, transport, client = tcp_socket
    big = "x" * 200_000
    protocol.serverSend(big)
    received = drain(client)  # the socket has room again, but Twisted still holds the rest of `big`
    assert 0 < len(received) < len(text_frame(big))
    protocol.serverSend("after")  # queued behind it, not written past it
    while transport._tempDataBuffer or transport.offset < len(transport.dataBuffer):
        transport.doWrite()  # what the reactor does when the socket is writable
        received += drain(client)
    assert received == text_frame(big) + text_frame("after")


def test_a_lost_peer_is_left_to_twisted(tcp_socket):
    protocol, transport, client = tcp_socket
    client.close()
    protocol.serverSend("into the void")  # no exception here: Twisted finds the loss on its write path
    assert transport.doWrite() is not None  # CONNECTION_LOST, handled by the reactor as for any write


def test_only_plain_idle_tcp_is_written_directly(tcp_socket):
    _protocol, transport, _client = tcp_socket
    assert daphne_speedups._writable_now(transport)
    assert not daphne_speedups._writable_now(StringTransport())
    transport.TLS = True
    assert not daphne_speedups._writable_now(transport)
    transport.TLS = False
    transport._tempDataBuffer.append(b"queued")
    assert not daphne_speedups._writable_now(transport)
