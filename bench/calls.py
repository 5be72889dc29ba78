"""The calls scenario: concurrent 1:1 calls set up over the product's socket, open loop.

Each call is a pair of the fixture's `call_pairs` users, the caller and the callee on different
server processes when there are several. Call `i` starts at its scheduled time (start_rate calls
per second until all are up, so at the end every call is going on at once): the caller sends
`call:start`; the callee answers `call:incoming` with `call:accept` at once, then (as a client
does, docs/asyncapi.yaml) the one who answered sends its offer to the caller's session and
trickles `candidates` ICE candidates; the caller answers the offer and trickles as many. Then every
caller hangs up.

Reported: call setup time, from the scheduled `call:start` to the caller's `call:accepted`
(ringing, answering and both durable events, across processes), and signaling relay latency, from
the moment a signaling frame is handed to the client's socket to the moment the addressed session's
socket hands it over. Frames carry a key in their SDP or candidate text; what has not arrived by
the drain deadline is lost.
"""

import asyncio
import contextlib
import json
import os
import time
from collections import Counter
from typing import Any

from bench.clients import WsUser, close_all, connect_all, percentiles
from bench.procstat import CpuWindow

ACK = '{"type":"ack"'
ERROR = '{"type":"error"'
CALL = '{"type":"call:'
REF_KEY = '"ref":"'
KEY_MARK = "bench-"


def _cut(text: str, key: str) -> str | None:
    start = text.find(key)
    if start < 0:
        return None
    start += len(key)
    return text[start : text.find('"', start)]


class _Call:
    __slots__ = ("accepted", "call_id", "callee_session", "caller_session", "ended", "scheduled")

    def __init__(self, scheduled: float) -> None:
        self.scheduled = scheduled
        self.call_id: str | None = None
        self.caller_session: str | None = None
        self.callee_session: str | None = None
        self.accepted: float | None = None
        self.ended = False


class CallRouter:
    """Reacts to every frame the call sockets receive, as the two apps of a call would.

    Users 2i (caller) and 2i+1 (callee) make call i. Reactions that send are run as tasks: frames
    are read by each socket's reader, which must not wait for sends.
    """

    def __init__(self, users: list[WsUser], calls: list[_Call], params: dict[str, Any]) -> None:
        self.users, self.calls, self.params = users, calls, params
        self.sdp_filler = "a=x-bench:" + "x" * max(0, params["sdp_bytes"] - 60)
        self.sent_at: dict[str, float] = {}
        self.relay: list[float] = []
        self.setup: list[float] = []
        self.received: set[str] = set()
        self.duplicates = 0
        self.errors: Counter[str] = Counter()
        self.tasks: set[asyncio.Task] = set()
        self.ended = 0
        self.frames = 0
        self.done = asyncio.Event()
        self.expected = len(calls) * 2 * (1 + params["candidates"])

    def spawn(self, work) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    # --- receiving -------------------------------------------------------------------------------

    def on_frame(self, receiver: int, text: str) -> None:
        now = time.perf_counter()
        self.frames += 1
        index, is_callee = divmod(receiver, 2)
        if text.startswith(CALL):
            frame = json.loads(text)
            kind, data = frame["type"], frame["data"]
            if kind in ("call:offer", "call:answer", "call:candidate"):
                self._relayed(data, now)
                if kind == "call:offer" and not is_callee:
                    self.spawn(self._answer(index, data["from_session_id"]))
            elif kind == "call:incoming" and is_callee:
                call = self.calls[index]
                call.call_id, call.caller_session = data["call"]["id"], data["call"]["initiator_session_id"]
                self.spawn(self._send(receiver, "call:accept", {"call_id": call.call_id}, ref=f"a{index}"))
            elif kind == "call:accepted" and not is_callee:
                call = self.calls[index]
                if call.accepted is None:
                    call.accepted = now
                    call.callee_session = data["session_id"]
                    self.setup.append(now - call.scheduled)
            elif kind == "call:ended" and is_callee:
                self.ended += 1
        elif text.startswith(ACK):
            ref = _cut(text, REF_KEY) or ""
            if ref.startswith("a") and is_callee:  # the callee is in the call: it offers
                self.spawn(self._offer(index))
        elif text.startswith(ERROR):
            self.errors[_cut(text, '"code":"') or "unknown"] += 1

    def _relayed(self, data: dict[str, Any], now: float) -> None:
        body = data.get("sdp") or data["candidate"]["candidate"]
        key = body[body.find(KEY_MARK) + len(KEY_MARK) :].split(" ", 1)[0].split("\r", 1)[0]
        if key in self.received:
            self.duplicates += 1
            return
        self.received.add(key)
        sent = self.sent_at.get(key)
        if sent is not None:
            self.relay.append(now - sent)
        if len(self.received) >= self.expected:
            self.done.set()

    # --- sending ---------------------------------------------------------------------------------

    async def _send(self, user_index: int, event_type: str, data: dict[str, Any], *, ref: str, key: str = "") -> None:
        text = json.dumps({"type": event_type, "ref": ref, "data": data}, separators=(",", ":"))
        if key:
            self.sent_at[key] = time.perf_counter()
        try:
            await self.users[user_index].socket.send(text)
        except Exception:  # noqa: BLE001 - a closed socket loses the frame; counted as lost
            self.errors["send_failed"] += 1

    async def _signal(self, user_index: int, index: int, to_session: str, kind: str) -> None:
        """One side's description, then its candidates, trickled."""
        side = "b" if user_index % 2 else "a"
        call = self.calls[index]
        to = {"call_id": call.call_id, "to_session_id": to_session}
        key = f"{index}.{side}.sdp"
        sdp = f"v=0\r\no=- {KEY_MARK}{key} 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n{self.sdp_filler}\r\n"
        await self._send(user_index, kind, {**to, "sdp": sdp}, ref=f"x{key}", key=key)
        interval = self.params["candidate_interval_ms"] / 1000
        for number in range(self.params["candidates"]):
            await asyncio.sleep(interval)
            key = f"{index}.{side}.{number}"
            candidate = {
                "candidate": f"candidate:{number} 1 udp 2122260223 192.0.2.{number % 250 + 1} {50000 + number} "
                f"typ host generation 0 ufrag {KEY_MARK}{key}",
                "sdpMid": "0",
                "sdpMLineIndex": 0,
            }
            await self._send(user_index, "call:candidate", {**to, "candidate": candidate}, ref=f"x{key}", key=key)

    async def _offer(self, index: int) -> None:
        call = self.calls[index]
        await self._signal(2 * index + 1, index, call.caller_session, "call:offer")

    async def _answer(self, index: int, to_session: str) -> None:
        await self._signal(2 * index, index, to_session, "call:answer")

    async def start(self, index: int, chat_id: str) -> None:
        delay = self.calls[index].scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        await self._send(2 * index, "call:start", {"chat_id": chat_id, "kind": "audio"}, ref=f"s{index}")

    async def hang_up(self, index: int) -> None:
        call = self.calls[index]
        if call.call_id is not None:
            await self._send(2 * index, "call:end", {"call_id": call.call_id}, ref=f"e{index}")


async def scenario_calls(target, fixture: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    pairs = fixture["call_pairs"][: params["calls"]]
    users: list[WsUser] = []
    calls = [_Call(0.0) for _ in pairs]
    router = CallRouter(users, calls, params)
    for index, pair in enumerate(pairs):
        # With several server processes the two sides of a call sit on different ones.
        users.append(WsUser(2 * index, pair["a"], target.ws_url(index), router, (pair["chat_id"],)))
        users.append(WsUser(2 * index + 1, pair["b"], target.ws_url(index + 1), router, (pair["chat_id"],)))
    connect = await connect_all(users, concurrency=50)
    result: dict[str, Any] = {"connect": connect, "calls": len(pairs)}
    if connect["gave_up"]:
        result["error"] = "not every socket connected"
        await close_all(users)
        return result
    await asyncio.sleep(1)  # presence broadcasts of the connects settle
    first = time.perf_counter() + 0.5
    for index, call in enumerate(calls):
        call.scheduled = first + index / params["start_rate"]
    last = calls[-1].scheduled
    server_cpu, own_cpu = CpuWindow(target.pids).start(), CpuWindow([os.getpid()]).start()
    starts = [asyncio.create_task(router.start(index, pair["chat_id"])) for index, pair in enumerate(pairs)]
    deadline = last + params["drain_seconds"]
    with contextlib.suppress(TimeoutError):  # what has not arrived by then is lost
        await asyncio.wait_for(router.done.wait(), timeout=max(1.0, deadline - time.perf_counter()))
    result["server_cpu_pct"], result["loadgen_cpu_pct"] = server_cpu.percent(), own_cpu.percent()
    result["seconds"] = round(time.perf_counter() - first, 2)
    set_up = sum(call.accepted is not None for call in calls)
    # Every call is going on now: hang them all up, and wait for the callees to hear it.
    for index in range(len(calls)):
        await router.hang_up(index)
    hang_up_deadline = time.perf_counter() + params["drain_seconds"]
    while router.ended < set_up and time.perf_counter() < hang_up_deadline:
        await asyncio.sleep(0.1)
    for task in [*starts, *router.tasks]:
        task.cancel()
    await asyncio.gather(*starts, *router.tasks, return_exceptions=True)
    result.update(
        {
            "start_rate": params["start_rate"],
            "candidates_per_side": params["candidates"],
            "set_up": set_up,
            "ended": router.ended,
            "setup_ms": percentiles(router.setup),
            "relay_ms": percentiles(router.relay),
            "signaling": {
                "expected": router.expected,
                "delivered": len(router.received),
                "lost": router.expected - len(router.received),
                "duplicates": router.duplicates,
            },
            "errors": dict(router.errors),
        }
    )
    await close_all(users)
    return result
