"""Daphne with sweeps that cost what changed, and frames written at once and framed once.

`python -m messenger.server` runs this server; it imports this module only after choosing the event
loop, because importing `daphne.server` installs Twisted's reactor on a new loop. Everything else
is daphne's own (4.2.3, with Twisted and autobahn pinned in requirements.txt), and so is the
behaviour of the methods below, which only do less work to get it (what each cost is in
bench/RESULTS.md):

- `application_checker` looks only at the connections that disconnected or whose application
  finished since its last sweep, instead of copying the whole connection table every second
  (which at 10,000 sockets made enough young garbage to trigger full collections).
- `timeout_checker` skips, in line, an open WebSocket with no keep-alive ping and no lifetime
  limit due, instead of calling a method per connection to learn that nothing is due.
- Autobahn's debug line for every read and every write, which nobody logs, is not formatted.
- A frame is written to the socket at once when Twisted holds nothing unsent for it, instead of
  being buffered until the reactor's next turn; what the socket does not take is buffered by
  Twisted, and written in order.
- A text frame sent to many sockets (a group message, a presence change: the stream tail sends one
  `str` to every recipient) is encoded and framed once, with autobahn's prepared messages.

Its HTTP requests and WebSocket protocol are also bounded in what they read from a client
(messenger/daphne_limits.py).
"""

import asyncio
import logging
import math
import time
from concurrent.futures import CancelledError
from functools import partial

from autobahn.websocket.protocol import PreparedMessage
from daphne.cli import CommandLineInterface
from daphne.http_protocol import HTTPFactory
from daphne.server import Server
from daphne.ws_protocol import WebSocketFactory
from twisted.internet import reactor, tcp

from messenger.daphne_limits import (
    BoundedHTTPFactory,
    BoundedWebRequest,
    BoundedWebSocketProtocol,
    RequestBodyReceiver,
    bound_websocket_factory,
)

logger = logging.getLogger("daphne.server")  # the sweeps log as daphne's do


class MessengerWebSocketProtocol(BoundedWebSocketProtocol):
    def serverSend(self, content, binary=False):
        if binary or self.state != self.STATE_OPEN or self._perMessageCompress is not None or self.autoFragmentSize > 0:
            return super().serverSend(content, binary)
        prepared = self.factory.server_class.prepared_text(content)
        if 0 < self.maxMessagePayloadSize < len(prepared.payload):
            return super().serverSend(content, binary)  # refused there, as before
        self.sendPreparedMessage(prepared)
        return None

    def dataReceived(self, data: bytes) -> None:
        self._dataReceived(data)  # autobahn's, without its debug line (as in sendData)

    def sendData(self, data: bytes, sync: bool = False, chopsize: int | None = None) -> None:
        """Autobahn's, without its per-write debug line.

        Daphne discards Twisted's log below verbosity 2, but the line's arguments were formatted
        (with click's colours) before the call that discards them: 5 us of the 7 a frame cost.
        """
        if sync or chopsize or self.send_queue or self.logOctets or self.state != self.STATE_OPEN:
            return super().sendData(data, sync, chopsize)
        self.trafficStats.outgoingOctetsWireLevel += len(data)
        transport = self.transport
        if _writable_now(transport):
            written = transport.writeSomeData(data)  # Twisted's own send, errors and all
            if written == len(data):
                return None
            if isinstance(written, int) and written > 0:
                data = data[written:]
        transport.write(data)  # buffered: written when the socket takes it, or found lost there
        return None


def _writable_now(transport) -> bool:
    """A plain TCP connection, open for writing, of which Twisted holds no unsent bytes.

    (Not TLS: daphne's TLS endpoints wrap the transport, and a connection that started TLS
    itself must go through Twisted's write.)
    """
    return (
        transport.__class__ is tcp.Server
        and not transport.TLS
        and transport.connected
        and not transport._writeDisconnected
        and not transport._tempDataBuffer
        and transport.offset == len(transport.dataBuffer)
    )


class MessengerServer(Server):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._unsettled: set = set()  # connections application_checker must look at
        self._prepared: tuple[str | None, PreparedMessage | None] = (None, None)

    # `Server.run` makes the WebSocket factory; its protocols are ours.
    @property
    def ws_factory(self) -> WebSocketFactory:
        return self._ws_factory

    @ws_factory.setter
    def ws_factory(self, factory: WebSocketFactory) -> None:
        factory.protocol = MessengerWebSocketProtocol
        bound_websocket_factory(factory)
        self._ws_factory = factory

    # `Server.run` makes daphne's HTTP factory; the one that serves makes bounded requests.
    @property
    def http_factory(self) -> HTTPFactory:
        return self._http_factory

    @http_factory.setter
    def http_factory(self, factory: HTTPFactory) -> None:
        self._http_factory = factory if isinstance(factory, BoundedHTTPFactory) else BoundedHTTPFactory(self)

    def prepared_text(self, text: str) -> PreparedMessage:
        """The frame of `text`, reused while the same string is sent to socket after socket.

        Keyed by identity (the cache holds the string, so its id cannot be reused meanwhile).
        """
        key, prepared = self._prepared
        if key is not text or prepared is None:
            prepared = self._ws_factory.prepareMessage(text.encode("utf8"))
            self._prepared = (text, prepared)
        return prepared

    def protocol_disconnected(self, protocol) -> None:
        super().protocol_disconnected(protocol)
        self._unsettled.add(protocol)

    def create_application(self, protocol, scope):
        """Daphne's, but an HTTP request's body is read from its file as the application asks for it.

        (Daphne queues the whole body first; see messenger/daphne_limits.py.)
        """
        assert "application_instance" not in self.connections[protocol]
        input_queue = asyncio.Queue()
        receive = input_queue.get
        if isinstance(protocol, BoundedWebRequest) and protocol.body_file is not None:
            receive = RequestBodyReceiver(protocol.body_file, input_queue).receive
        scope.setdefault("asgi", {"version": "3.0"})
        application_instance = self.application(scope=scope, receive=receive, send=partial(self.handle_reply, protocol))
        if protocol not in self.connections:
            return None
        instance = asyncio.ensure_future(application_instance, loop=asyncio.get_event_loop())
        self.connections[protocol]["application_instance"] = instance
        instance.add_done_callback(lambda _instance: self._unsettled.add(protocol))
        return input_queue

    def application_checker(self) -> None:
        """Daphne's once-a-second clean-up, over the connections that changed since the last one."""
        unsettled, self._unsettled = self._unsettled, set()
        for protocol in unsettled:
            details = self.connections.get(protocol)
            if details is None:
                continue
            disconnected = details.get("disconnected")
            instance = details.get("application_instance")
            if instance is not None and not instance.done():
                if disconnected:  # its application is still closing: look again next second
                    self._unsettled.add(protocol)
                    if time.time() - disconnected > self.application_close_timeout:
                        logger.warning(
                            "Application instance %r for connection %s took too long to shut down and was killed.",
                            instance,
                            repr(protocol),
                        )
                        instance.cancel()
                continue
            if instance is not None:
                self._reap(protocol, instance, disconnected)
                del details["application_instance"]
            if disconnected:
                del self.connections[protocol]
        reactor.callLater(1, self.application_checker)

    def _reap(self, protocol, instance: asyncio.Future, disconnected: float | None) -> None:
        try:
            exception = instance.exception()
        except (CancelledError, asyncio.CancelledError):
            return
        if exception is None:
            return
        if isinstance(exception, KeyboardInterrupt):
            self.stop()  # the protocol asks the server to exit (in tests)
            return
        logger.error("Exception inside application: %s", exception, exc_info=exception)
        if not disconnected:
            protocol.handle_exception(exception)

    def timeout_checker(self) -> None:
        """Daphne's two-second timeout and keep-alive sweep, skipping in line what has nothing due."""
        now = time.time()
        ping_due = now - self.ping_interval
        close_due = now - self.websocket_timeout if self.websocket_timeout >= 0 else -math.inf
        open_state = MessengerWebSocketProtocol.STATE_OPEN
        for protocol in list(self.connections):
            if (
                protocol.__class__ is MessengerWebSocketProtocol
                and protocol.state == open_state
                and protocol.last_ping >= ping_due
                and protocol.socket_opened >= close_due
            ):
                continue
            protocol.check_timeouts()
        reactor.callLater(2, self.timeout_checker)


class MessengerCommandLineInterface(CommandLineInterface):
    server_class = MessengerServer
