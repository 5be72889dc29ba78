"""Clients the load generator drives: WebSocket users, a keep-alive HTTP/1.1 client, and the tracker
that matches every delivery to its message's scheduled send time.

Frames are recognised by their prefix and the client_id is cut out of the text instead of running
json.loads on every delivery: the load generator must stay cheaper than the servers it measures.
The product and the bare relay both encode frames as compact JSON with `type` first.
"""

import asyncio
import contextlib
import json
import math
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

MESSAGE_NEW = '{"type":"message:new"'
ACK = '{"type":"ack"'
ERROR = '{"type":"error"'
CHAT_CREATED = '{"type":"chat:created"'
CLIENT_ID_KEY = '"client_id":'
REF_KEY = '"ref":"'


def percentiles(values: list[float], points=(50, 90, 99)) -> dict[str, float | None]:
    """Nearest-rank percentiles of seconds, in milliseconds; also the max and the count."""
    if not values:
        return {f"p{point}": None for point in points} | {"max": None, "n": 0}
    ordered = sorted(values)
    result: dict[str, float | None] = {}
    for point in points:
        rank = max(0, min(len(ordered) - 1, math.ceil(point / 100 * len(ordered)) - 1))
        result[f"p{point}"] = round(ordered[rank] * 1000, 2)
    result["max"] = round(ordered[-1] * 1000, 2)
    result["n"] = len(ordered)
    return result


def _cut(text: str, key: str) -> str | None:
    """The string value after `key` (which may end at the colon: the data JSON may have spaces)."""
    start = text.find(key)
    if start < 0:
        return None
    start = text.find('"', start + len(key) - 1 if key.endswith('"') else start + len(key)) + 1
    return text[start : text.find('"', start)]


class _Sent:
    __slots__ = ("expected", "measured", "receipts", "receivers", "scheduled")

    def __init__(self, scheduled: float, expected: int, measured: bool) -> None:
        self.scheduled = scheduled
        self.expected = expected
        self.measured = measured
        self.receivers: set[int] = set()
        self.receipts: list[float] = []


class Tracker:
    """Messages of one measurement: what was scheduled when, and who received it when."""

    def __init__(self) -> None:
        self.sent: dict[str, _Sent] = {}
        self.expected_total = 0
        self.delivered = 0
        self.duplicates = 0
        self.stray = 0
        self.acks = 0
        self.duplicate_acks = 0
        self.errors: Counter[str] = Counter()
        self.send_failures = 0
        self.send_lags: list[float] = []
        self.ack_latencies: list[float] = []
        self.first_receipt: float | None = None
        self.last_receipt: float | None = None
        self.senders_running = 0
        self.done = asyncio.Event()

    def expect(self, client_id: str, *, scheduled: float, recipients: int, measured: bool = True) -> None:
        self.sent[client_id] = _Sent(scheduled, recipients, measured)
        self.expected_total += recipients

    def send_failed(self) -> None:
        """The message could not be sent at all: it stays expected, so it counts as lost."""
        self.send_failures += 1

    def delivered_to(self, client_id: str, receiver: int, now: float) -> None:
        sent = self.sent.get(client_id)
        if sent is None:
            self.stray += 1  # a late delivery of an earlier measurement
            return
        if receiver in sent.receivers:
            self.duplicates += 1
            return
        sent.receivers.add(receiver)
        sent.receipts.append(now - sent.scheduled)
        self.delivered += 1
        if self.first_receipt is None:
            self.first_receipt = now
        self.last_receipt = now
        self._check_done()

    def acked(self, ref: str, duplicate: bool, now: float) -> None:
        sent = self.sent.get(ref)
        if sent is None:
            return
        self.acks += 1
        self.duplicate_acks += duplicate
        if sent.measured:
            self.ack_latencies.append(now - sent.scheduled)

    def sender_started(self) -> None:
        self.senders_running += 1

    def sender_finished(self) -> None:
        self.senders_running -= 1
        self._check_done()

    def _check_done(self) -> None:
        if self.senders_running == 0 and self.delivered >= self.expected_total:
            self.done.set()

    async def wait(self, deadline: float) -> bool:
        """Wait until everything arrived or the deadline (perf_counter) passed."""
        self._check_done()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.done.wait(), timeout=max(0.0, deadline - time.perf_counter()))
        return self.done.is_set()

    def summary(self) -> dict[str, Any]:
        measured = [sent for sent in self.sent.values() if sent.measured]
        deliveries = [latency for sent in measured for latency in sent.receipts]
        complete = [max(sent.receipts) for sent in measured if sent.receipts and len(sent.receivers) >= sent.expected]
        first_scheduled = min((sent.scheduled for sent in self.sent.values()), default=None)
        span = (self.last_receipt - first_scheduled) if self.last_receipt and first_scheduled else None
        return {
            "messages": len(self.sent),
            "expected_deliveries": self.expected_total,
            "delivered": self.delivered,
            "lost": self.expected_total - self.delivered,
            "duplicates": self.duplicates,
            "duplicate_acks": self.duplicate_acks,
            "acks": self.acks,
            "errors": dict(self.errors),
            "send_failures": self.send_failures,
            "stray": self.stray,
            # From the first scheduled send to the last receipt: the throughput of a burst.
            "deliveries_per_s": round(self.delivered / span, 1) if span and span > 0 else None,
            "latency_ms": percentiles(deliveries),
            "last_member_ms": percentiles(complete),
            "ack_ms": percentiles(self.ack_latencies),
            "send_lag_ms": percentiles(self.send_lags),
        }


@dataclass
class Router:
    """Sends every client's frames to the tracker of the measurement under way."""

    tracker: Tracker = field(default_factory=Tracker)
    chat_created: set[int] = field(default_factory=set)
    chat_created_event: asyncio.Event = field(default_factory=asyncio.Event)
    chat_created_target: int = 0
    frames: int = 0

    def on_frame(self, receiver: int, text: str) -> None:
        now = time.perf_counter()
        self.frames += 1
        if text.startswith(MESSAGE_NEW):
            client_id = _cut(text, CLIENT_ID_KEY)
            if client_id is not None:
                self.tracker.delivered_to(client_id, receiver, now)
        elif text.startswith(ACK):
            ref = _cut(text, REF_KEY)
            if ref is not None:
                self.tracker.acked(ref, '"duplicate":true' in text, now)
        elif text.startswith(ERROR):
            code = _cut(text, '"code":"') or "unknown"
            self.tracker.errors[code] += 1
        elif text.startswith(CHAT_CREATED):
            self.chat_created.add(receiver)
            if self.chat_created_target and len(self.chat_created) >= self.chat_created_target:
                self.chat_created_event.set()


class WsUser:
    """One user's socket: connects with the bearer token and feeds every frame to the router."""

    def __init__(self, index: int, user: dict[str, str], url: str, router: Router, chats: tuple[str, ...] = ()) -> None:
        self.index = index
        self.user_id = user["id"]
        self.token = user["token"]
        # The product ignores this query string; the bare relay learns identities and chats from it.
        self.url = f"{url}?{urlencode({'user': self.user_id, 'chats': ','.join(chats)})}"
        self.router = router
        self.socket: ClientConnection | None = None
        self.reader: asyncio.Task | None = None

    async def connect(self, timeout: float = 30.0) -> None:
        self.socket = await connect(
            self.url,
            additional_headers={"Authorization": f"Bearer {self.token}"},
            compression=None,
            ping_interval=None,  # idle CPU is the server's own; daphne and the relay still ping
            open_timeout=timeout,
            close_timeout=2,
            max_size=2**20,
        )
        first = await asyncio.wait_for(self.socket.recv(), timeout=timeout)
        if not str(first).startswith('{"type":"ready"'):
            raise RuntimeError(f"first frame is not ready: {str(first)[:80]}")
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        socket, on_frame, index = self.socket, self.router.on_frame, self.index
        with contextlib.suppress(Exception):
            async for text in socket:
                on_frame(index, text)

    async def send_message(self, chat_id: str, client_id: str) -> None:
        await self.socket.send(
            f'{{"type":"message:send","ref":"{client_id}","data":{{"chat_id":"{chat_id}",'
            f'"client_id":"{client_id}","text":"bench {client_id}"}}}}'
        )

    async def close(self) -> None:
        if self.socket is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.socket.close(), timeout=2)
        if self.reader is not None:
            self.reader.cancel()

    def abort(self) -> None:
        if self.socket is not None:
            self.socket.transport.abort()
        if self.reader is not None:
            self.reader.cancel()


async def connect_all(users: list[WsUser], *, concurrency: int = 50, attempts: int = 3) -> dict[str, Any]:
    """Open sockets in bounded-concurrency batches, retrying refused handshakes; report what failed."""
    semaphore = asyncio.Semaphore(concurrency)
    failures: Counter[str] = Counter()
    failed: list[WsUser] = []

    async def one(user: WsUser) -> None:
        for attempt in range(attempts):
            async with semaphore:
                try:
                    await user.connect()
                    return
                except InvalidStatus as error:
                    failures[f"http_{error.response.status_code}"] += 1
                except Exception as error:  # noqa: BLE001 - every kind of failure is counted, not raised
                    failures[type(error).__name__] += 1
            await asyncio.sleep(0.2 * (attempt + 1))
        failed.append(user)

    started = time.perf_counter()
    await asyncio.gather(*(one(user) for user in users))
    elapsed = time.perf_counter() - started
    return {
        "sockets": len(users),
        "connected": len(users) - len(failed),
        "failed_handshakes": dict(failures),
        "gave_up": len(failed),
        "seconds": round(elapsed, 2),
        "per_second": round(len(users) / elapsed, 1) if elapsed else None,
    }


async def close_all(users: list[WsUser], *, concurrency: int = 200) -> None:
    semaphore = asyncio.Semaphore(concurrency)

    async def one(user: WsUser) -> None:
        async with semaphore:
            await user.close()

    await asyncio.gather(*(one(user) for user in users))


class HttpClient:
    """A minimal keep-alive HTTP/1.1 client (the bench needs no HTTP library and little CPU)."""

    def __init__(self, base_url: str, token: str) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname, parts.port
        self.token = token
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def _open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def request(self, method: str, path: str, body: Any = None, timeout: float = 30.0) -> tuple[int, bytes]:
        return await asyncio.wait_for(self._request(method, path, body), timeout=timeout)

    async def _request(self, method: str, path: str, body: Any) -> tuple[int, bytes]:
        if self.writer is None or self.writer.is_closing():
            await self._open()
        payload = b"" if body is None else json.dumps(body).encode()
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nAuthorization: Bearer {self.token}\r\n"
            f"Accept: application/json\r\nContent-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
        )
        try:
            self.writer.write(head.encode() + payload)
            header_block = await self.reader.readuntil(b"\r\n\r\n")
        except (ConnectionError, asyncio.IncompleteReadError):
            # The server closed an idle keep-alive connection: one fresh try.
            await self._open()
            self.writer.write(head.encode() + payload)
            header_block = await self.reader.readuntil(b"\r\n\r\n")
        lines = header_block.decode("latin1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip().lower()
        if "content-length" in headers:
            data = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding") == "chunked":
            chunks = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
                chunk = await self.reader.readexactly(size + 2)
                if size == 0:
                    break
                chunks.append(chunk[:-2])
            data = b"".join(chunks)
        else:
            data = await self.reader.read()
            headers["connection"] = "close"
        if headers.get("connection") == "close":
            self.close()
        return status, data

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None
