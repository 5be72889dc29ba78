"""The load generator: one process, asyncio + websockets, real clients on the public protocol.

    python -m bench.loadgen --spec spec.json --out result.json

bench/run.py writes the spec (scenario, target URLs and server pids, fixture path, parameters)
and reads the result. Sends are open loop: every message has a scheduled send time fixed before
the run starts, and its latency runs from that time to its receipt, so a server (or a load
generator) that falls behind shows its delay instead of slowing the offered load. Whatever has
not arrived when the deadline passes is lost. Every loop is bounded in count and in time.
"""

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import secrets
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.calls import scenario_calls
from bench.clients import HttpClient, Router, Tracker, WsUser, close_all, connect_all, percentiles
from bench.procstat import CpuWindow, rss_bytes, total_rss

RUN_TAG = secrets.token_hex(3)


def log(message: str) -> None:
    print(f"[loadgen {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class Target:
    """The configuration under test: its WebSocket and HTTP addresses and its server processes."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.label: str = spec["label"]
        self.kind: str = spec["kind"]  # "product" or "relay"
        self.ws: list[str] = spec["ws"]
        self.http: list[str] = spec.get("http", [])
        self.pids: list[int] = spec["pids"]

    @property
    def is_product(self) -> bool:
        return self.kind == "product"

    def ws_url(self, index: int) -> str:
        return self.ws[index % len(self.ws)]

    def http_url(self, index: int) -> str:
        return self.http[index % len(self.http)]


# --- open-loop schedules -------------------------------------------------------------------------


class Schedule:
    """One sender's messages: the socket, the chat, how many recipients each, and the send times."""

    def __init__(self, user: WsUser, chat_id: str, recipients: int, times: list[float]) -> None:
        self.user, self.chat_id, self.recipients, self.times = user, chat_id, recipients, times


def evenly(start: float, count: int, rate: float) -> list[float]:
    return [start + index / rate for index in range(count)]


async def _send_schedule(schedule: Schedule, tag: str, tracker: Tracker, measure_from: float, deadline: float) -> None:
    try:
        for index, when in enumerate(schedule.times):
            client_id = f"{tag}.{schedule.user.index}.{index}"
            tracker.expect(client_id, scheduled=when, recipients=schedule.recipients, measured=when >= measure_from)
            delay = when - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if time.perf_counter() > deadline:
                tracker.send_failed()  # too late to send: it counts as lost
                continue
            try:
                await schedule.user.send_message(schedule.chat_id, client_id)
            except Exception:  # noqa: BLE001 - a closed socket loses the message; the run goes on
                tracker.send_failed()
                continue
            tracker.send_lags.append(time.perf_counter() - when)
    finally:
        tracker.sender_finished()


async def run_schedules(
    router: Router, target: Target, schedules: list[Schedule], *, tag: str, lead_in: float, drain: float
) -> dict[str, Any]:
    """Send every schedule open loop; wait for the deliveries until `drain` s after the last send."""
    tracker = Tracker()
    router.tracker = tracker
    all_times = [when for schedule in schedules for when in schedule.times]
    if not all_times:
        return tracker.summary()
    first, last = min(all_times), max(all_times)
    deadline = last + drain
    server_cpu, own_cpu = CpuWindow(target.pids), CpuWindow([os.getpid()])

    async def cpu_during_sends() -> None:
        await asyncio.sleep(max(0.0, first - time.perf_counter()))
        server_cpu.start()
        own_cpu.start()
        await asyncio.sleep(max(0.05, last - time.perf_counter()))

    cpu_task = asyncio.create_task(cpu_during_sends())
    tasks = []
    for schedule in schedules:
        tracker.sender_started()  # before waiting, so an empty tracker isn't "done" at once
        tasks.append(asyncio.create_task(_send_schedule(schedule, tag, tracker, first + lead_in, deadline)))
    await tracker.wait(deadline)
    await cpu_task
    result = tracker.summary()
    result["server_cpu_pct"] = server_cpu.percent()
    result["loadgen_cpu_pct"] = own_cpu.percent()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return result


async def quiet(router: Router, *, idle: float = 1.0, limit: float = 20.0) -> float:
    """Wait until no frame arrived for `idle` seconds (a backlog drained), at most `limit` seconds."""
    started = time.perf_counter()
    seen = router.frames
    idle_since = time.perf_counter()
    while time.perf_counter() - started < limit:
        await asyncio.sleep(0.1)
        if router.frames != seen:
            seen, idle_since = router.frames, time.perf_counter()
        elif time.perf_counter() - idle_since >= idle:
            break
    return round(time.perf_counter() - started, 2)


def _brief(result: dict[str, Any]) -> str:
    latency = result.get("latency_ms", {})
    return (
        f"delivered {result.get('delivered')}/{result.get('expected_deliveries')} lost {result.get('lost')} "
        f"dups {result.get('duplicates')} errors {result.get('errors')} p50 {latency.get('p50')} "
        f"p99 {latency.get('p99')} ms, server cpu {result.get('server_cpu_pct')}%, "
        f"loadgen cpu {result.get('loadgen_cpu_pct')}%"
    )


def _clean(result: dict[str, Any]) -> bool:
    return not result["lost"] and not result["duplicates"] and not result["errors"] and not result["send_failures"]


# --- S1: 1:1 persisted delivery, stepping the rate up ---------------------------------------------


def _round2(value: float) -> float:
    """Two significant digits: step rates that read well in a table."""
    return float(f"{value:.2g}")


def _pair_schedules(
    senders: list[tuple[WsUser, str]], rate: float, seconds: float, start: float | None = None
) -> list[Schedule]:
    """`rate` messages/s in total for `seconds`, evenly spaced and dealt round-robin to the senders."""
    start = time.perf_counter() + 0.3 if start is None else start
    times: list[list[float]] = [[] for _ in senders]
    for index in range(max(1, round(rate * seconds))):
        times[index % len(senders)].append(start + index / rate)
    return [Schedule(user, chat_id, 1, own) for (user, chat_id), own in zip(senders, times, strict=True) if own]


async def scenario_s1(target: Target, fixture: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    router = Router()
    users: list[WsUser] = []
    senders: list[tuple[WsUser, str]] = []
    for index, pair in enumerate(fixture["pairs"][: params["pairs"]]):
        chats = (pair["chat_id"],)
        # With several server processes the two sides of a pair sit on different ones.
        sender = WsUser(2 * index, pair["a"], target.ws_url(index), router, chats)
        receiver = WsUser(2 * index + 1, pair["b"], target.ws_url(index + 1), router, chats)
        users += [sender, receiver]
        senders.append((sender, pair["chat_id"]))
    connect = await connect_all(users, concurrency=params.get("connect_concurrency", 50))
    log(f"S1 {target.label}: connected {connect['connected']}/{connect['sockets']} in {connect['seconds']}s")
    result: dict[str, Any] = {"connect": connect}
    if connect["gave_up"]:
        result["error"] = "not every socket connected"
        await close_all(users)
        return result
    lead_in, drain = params["lead_in_seconds"], params["drain_seconds"]

    async def at_rate(rate: float, seconds: float, tag: str) -> dict[str, Any]:
        measured = await run_schedules(
            router, target, _pair_schedules(senders, rate, seconds), tag=tag, lead_in=lead_in, drain=drain
        )
        measured["offered_rate"] = round(rate, 1)
        return measured

    result["warmup"] = await at_rate(params["min_rate"], params["warmup_seconds"], f"{RUN_TAG}w")
    await quiet(router)
    if params.get("fixed_rate"):
        # Profiling mode: one long run at a fixed rate while py-spy samples the server.
        if params.get("marker"):
            Path(params["marker"]).write_text("started")
        result["fixed"] = await at_rate(params["fixed_rate"], params["fixed_seconds"], f"{RUN_TAG}f")
        log(f"S1 {target.label} fixed {params['fixed_rate']}/s: {_brief(result['fixed'])}")
        await close_all(users)
        return result

    steps: list[dict[str, Any]] = []

    async def sustainable(rate: float, name: str) -> bool:
        """One step at `rate`; a failure on latency alone is run once more (the machine is shared)."""
        for attempt in range(1 + params["retries"]):
            await quiet(router, idle=1.0, limit=60)
            measured = await at_rate(rate, params["step_seconds"], f"{RUN_TAG}{name}{attempt}")
            p99 = measured["latency_ms"]["p99"]
            measured["passed"] = _clean(measured) and p99 is not None and p99 <= params["p99_limit_ms"]
            measured["attempt"] = attempt + 1
            steps.append(measured)
            log(f"S1 {target.label} {rate:.0f}/s: {'ok' if measured['passed'] else 'FAIL'} {_brief(measured)}")
            # Retry only a tail spike: a clean run whose median is fine. Overload or loss is final.
            p50 = measured["latency_ms"]["p50"]
            if measured["passed"] or not _clean(measured) or p50 is None or p50 > params["p99_limit_ms"] / 2:
                return measured["passed"]
        return False

    # Double the rate until a step fails, then narrow [best, failed_at] by geometric bisection.
    best: float | None = None
    failed_at: float | None = None
    # A burst tells roughly what this server can do, so the steps start near it: few steps, any server.
    probe = await run_schedules(
        router,
        target,
        _pair_schedules(senders, 100_000, params["probe_messages"] / 100_000),
        tag=f"{RUN_TAG}p",
        lead_in=0,
        drain=15,
    )
    result["probe"] = probe
    capacity = probe["deliveries_per_s"] or params["min_rate"]
    rate = _round2(max(params["min_rate"], capacity / params["start_fraction"]))
    log(f"S1 {target.label}: burst probe {capacity}/s, stepping up from {rate}/s")
    for step in range(params["max_steps"]):
        if rate > params["max_rate"]:
            result["capped_at_max_rate"] = True
            break
        if not await sustainable(rate, f"s{step}."):
            failed_at = rate
            break
        best = rate
        rate *= params["factor"]
    for refine in range(params["refine_steps"]):
        if best is None or failed_at is None:
            break
        rate = math.sqrt(best * failed_at)
        if await sustainable(rate, f"r{refine}."):
            best = rate
        else:
            failed_at = rate
    result["steps"] = steps
    result["max_rate"] = round(best, 1) if best else None
    result["quiet_seconds"] = await quiet(router, idle=1.5, limit=60)
    if best:
        result["half"] = await at_rate(best / 2, params["half_seconds"], f"{RUN_TAG}h")
        log(f"S1 {target.label} at half ({best / 2:.0f}/s): {_brief(result['half'])}")
    await close_all(users)
    return result


# --- S2: fan-out to a group -----------------------------------------------------------------------


async def _group_create(target: Target, router: Router, members: list[dict[str, str]], connected: int) -> dict:
    """Create the group over REST after its members are online, as an owner would.

    Created after the sockets connect, so connecting 1,000 members doesn't also measure 1,000
    presence broadcasts to 999 co-members each (they'd dominate the run; see the README).
    """
    owner = HttpClient(target.http_url(0), members[0]["token"])
    router.chat_created.clear()
    router.chat_created_event.clear()
    router.chat_created_target = connected
    started = time.perf_counter()
    body = {"type": "group", "title": f"bench {len(members)}", "member_ids": [member["id"] for member in members[1:]]}
    status, data = await owner.request("POST", "/api/v1/chats", body, timeout=60)
    owner.close()
    if status != 201:
        raise RuntimeError(f"group create answered {status}: {data[:200]!r}")
    chat_id = json.loads(data)["id"]
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(router.chat_created_event.wait(), timeout=30)
    return {
        "chat_id": chat_id,
        "seconds_until_all_members_notified": round(time.perf_counter() - started, 3),
        "members_notified": len(router.chat_created),
    }


async def _group_delete(target: Target, owner: dict[str, str], chat_id: str) -> None:
    # Deleted before the members disconnect: their last-socket presence broadcasts then reach no one.
    client = HttpClient(target.http_url(0), owner["token"])
    with contextlib.suppress(Exception):
        await client.request("DELETE", f"/api/v1/chats/{chat_id}", timeout=30)
    client.close()


async def _s2_group(target: Target, fixture: dict[str, Any], params: dict[str, Any], size: int) -> dict[str, Any]:
    router = Router()
    members = fixture["group_users"][:size]
    relay_chat = fixture["relay_group_ids"][str(size)]
    chats = () if target.is_product else (relay_chat,)
    users = [WsUser(index, member, target.ws_url(index), router, chats) for index, member in enumerate(members)]
    connect = await connect_all(users, concurrency=params.get("connect_concurrency", 50))
    log(f"S2 {target.label} {size}: connected {connect['connected']}/{size} in {connect['seconds']}s")
    result: dict[str, Any] = {"members": size, "connect": connect}
    sender = users[0]
    if sender.socket is None:
        result["error"] = "the sender did not connect"
        return result
    recipients = connect["connected"] - 1
    if target.is_product:
        result["group_create"] = await _group_create(target, router, members, connect["connected"])
        chat_id = result["group_create"]["chat_id"]
    else:
        chat_id = relay_chat

    async def burst(count: int, rate: float, drain: float, tag: str) -> dict[str, Any]:
        start = time.perf_counter() + 0.2
        schedule = Schedule(sender, chat_id, recipients, evenly(start, count, rate))
        measured = await run_schedules(router, target, [schedule], tag=tag, lead_in=0, drain=drain)
        measured.update(offered_rate=rate, count=count)
        return measured

    try:
        result["warmup"] = await burst(5, 5.0, 10, f"{RUN_TAG}g{size}w")
        probe = await burst(params["probe_messages"], params["burst_rate"], 30, f"{RUN_TAG}g{size}p")
        per_second = probe["deliveries_per_s"] or 1.0
        await quiet(router)
        # Size the burst to last about burst_seconds on this server, within fixed bounds.
        count = int(
            min(params["max_burst"], max(params["probe_messages"], per_second / recipients * params["burst_seconds"]))
        )
        drain = min(60.0, max(10.0, 3 * count * recipients / per_second))
        result["burst"] = await burst(count, params["burst_rate"], drain, f"{RUN_TAG}g{size}b")
        log(
            f"S2 {target.label} {size} burst of {count}: {result['burst']['deliveries_per_s']} deliveries/s, "
            f"{_brief(result['burst'])}"
        )
        await quiet(router, limit=30)
        # Latency at a light load: a quarter of what the burst showed this server can do.
        capacity = (result["burst"]["deliveries_per_s"] or per_second) / recipients
        rate = max(0.2, min(params["latency_rate_cap"][str(size)], capacity / 4))
        result["latency"] = await burst(params["latency_messages"], rate, 10, f"{RUN_TAG}g{size}l")
        log(f"S2 {target.label} {size} at {rate:.1f} msg/s: last member {result['latency']['last_member_ms']}")
    finally:
        if target.is_product:
            await _group_delete(target, members[0], chat_id)
            await quiet(router, idle=0.5, limit=10)
        await close_all(users)
    return result


async def scenario_s2(target: Target, fixture: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    return {"groups": {str(size): await _s2_group(target, fixture, params, size) for size in params["sizes"]}}


# --- S3: idle connections ------------------------------------------------------------------------


async def scenario_s3(target: Target, fixture: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    router = Router()
    warm_count, count = params["warm_sockets"], params["sockets"]
    idle_users = fixture["idle_users"][: warm_count + count]
    users = [WsUser(index, user, target.ws_url(index), router) for index, user in enumerate(idle_users)]
    warm = await connect_all(users[:warm_count], concurrency=params["connect_concurrency"])
    await asyncio.sleep(params["settle_seconds"])
    rss_before = total_rss(target.pids)
    loadgen_before = rss_bytes(os.getpid())
    connect = await connect_all(users[warm_count:], concurrency=params["connect_concurrency"])
    log(
        f"S3 {target.label}: connected {connect['connected']}/{count} in {connect['seconds']}s "
        f"({connect['failed_handshakes']} failed handshakes)"
    )
    await asyncio.sleep(params["settle_seconds"])
    rss_after = total_rss(target.pids)
    cpu = CpuWindow(target.pids).start()
    await asyncio.sleep(params["idle_seconds"])
    idle_cpu = cpu.percent()
    rss_idle = total_rss(target.pids)
    connected = connect["connected"]
    result = {
        "warm": warm,
        "connect": connect,
        "rss_before_mb": round(rss_before / 2**20, 1),
        "rss_after_mb": round(rss_after / 2**20, 1),
        "rss_after_idle_mb": round(rss_idle / 2**20, 1),
        "kb_per_socket": round((rss_after - rss_before) / connected / 1024, 1) if connected else None,
        "idle_cpu_pct": idle_cpu,
        "idle_seconds": params["idle_seconds"],
        "loadgen_kb_per_socket": round((rss_bytes(os.getpid()) - loadgen_before) / max(1, connected) / 1024, 1),
        # Frames that reached idle sockets (presence and the like), for the record.
        "frames_received": router.frames,
    }
    log(f"S3 {target.label}: {result['kb_per_socket']} KB/socket, idle cpu {idle_cpu}%")
    for user in users:
        user.abort()  # the servers are stopped next; 10,000 polite closes would only cost time
    return result


# --- S4: REST history ----------------------------------------------------------------------------


def _history_path(chat_id: str, total: int) -> str:
    before = random.randint(51, total + 1)  # noqa: S311 - not for security
    return f"/api/v1/chats/{chat_id}/messages?before={before}&limit=50"


async def _history_get(client: HttpClient, chat_id: str, total: int) -> str | None:
    """One page; None if it is a full page of 50, else what was wrong with it."""
    status, body = await client.request("GET", _history_path(chat_id, total), timeout=10)
    if status != 200:
        return f"http_{status}"
    return None if body.count(b'"seq":') == 50 else "short_page"


async def _closed_loop(clients: list[HttpClient], chat_id: str, total: int, seconds: float) -> dict[str, Any]:
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    end = time.perf_counter() + seconds

    async def worker(client: HttpClient) -> None:
        while time.perf_counter() < end:
            started = time.perf_counter()
            try:
                problem = await _history_get(client, chat_id, total)
                if problem is None:
                    latencies.append(time.perf_counter() - started)
                else:
                    errors[problem] += 1
            except Exception as error:  # noqa: BLE001 - counted
                errors[type(error).__name__] += 1
                client.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker(client) for client in clients))
    elapsed = time.perf_counter() - started
    return {
        "concurrency": len(clients),
        "pages": len(latencies),
        "pages_per_s": round(len(latencies) / elapsed, 1),
        "errors": dict(errors),
        "latency_ms": percentiles(latencies),
    }


async def _open_rest(
    target: Target, token: str, chat_id: str, total: int, rate: float, seconds: float, max_connections: int
) -> dict[str, Any]:
    """Requests at fixed times; each takes an idle keep-alive connection (waiting counts as latency)."""
    idle: asyncio.Queue[HttpClient] = asyncio.Queue()
    for index in range(max_connections):
        idle.put_nowait(HttpClient(target.http_url(index), token))
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    start = time.perf_counter() + 0.2
    times = evenly(start, max(1, int(rate * seconds)), rate)
    deadline = times[-1] + 10

    async def one(when: float) -> None:
        client = await idle.get()
        try:
            problem = await _history_get(client, chat_id, total)
            if problem is None:
                latencies.append(time.perf_counter() - when)
            else:
                errors[problem] += 1
        except Exception as error:  # noqa: BLE001 - counted
            errors[type(error).__name__] += 1
            client.close()
        finally:
            idle.put_nowait(client)

    tasks = []
    for when in times:
        await asyncio.sleep(max(0.0, when - time.perf_counter()))
        tasks.append(asyncio.create_task(one(when)))
    _, pending = await asyncio.wait(tasks, timeout=max(0.1, deadline - time.perf_counter()))
    for task in pending:
        task.cancel()
    while not idle.empty():
        idle.get_nowait().close()
    return {
        "offered_rate": round(rate, 1),
        "requests": len(times),
        "pages": len(latencies),
        "unfinished": len(pending),
        "errors": dict(errors),
        "latency_ms": percentiles(latencies),
    }


async def scenario_s4(target: Target, fixture: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    history = fixture["history"]
    chat_id, total, token = history["chat_id"], history["messages"], history["reader"]["token"]
    clients = [HttpClient(target.http_url(index), token) for index in range(params["concurrency"])]
    cpu = CpuWindow(target.pids)
    await _closed_loop(clients, chat_id, total, params["warmup_seconds"])
    cpu.start()
    closed = await _closed_loop(clients, chat_id, total, params["seconds"])
    closed["server_cpu_pct"] = cpu.percent()
    for client in clients:
        client.close()
    log(f"S4 {target.label}: {closed['pages_per_s']} pages/s closed loop, {closed['latency_ms']}")
    half = await _open_rest(
        target, token, chat_id, total, max(1.0, closed["pages_per_s"] / 2), params["seconds"], params["concurrency"] * 2
    )
    log(f"S4 {target.label}: at half ({half['offered_rate']}/s) {half['latency_ms']}")
    return {"history_messages": total, "closed": closed, "half": half}


# --- S5: soak ------------------------------------------------------------------------------------


async def scenario_s5(target: Target, fixture: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    router = Router()
    duration, warmup = params["seconds"], params["warmup_seconds"]
    pair_users: list[WsUser] = []
    senders: list[tuple[WsUser, str]] = []
    for index, pair in enumerate(fixture["pairs"][: params["pairs"]]):
        chats = (pair["chat_id"],)
        sender = WsUser(2 * index, pair["a"], target.ws_url(index), router, chats)
        pair_users += [sender, WsUser(2 * index + 1, pair["b"], target.ws_url(index + 1), router, chats)]
        senders.append((sender, pair["chat_id"]))
    base = len(pair_users)
    group_size = params["group_size"]
    members = fixture["group_users"][:group_size]
    relay_chat = fixture["relay_group_ids"][str(group_size)]
    group_chats = () if target.is_product else (relay_chat,)
    group_users = [
        WsUser(base + index, member, target.ws_url(index), router, group_chats) for index, member in enumerate(members)
    ]
    base += group_size
    idle_users = [
        WsUser(base + index, user, target.ws_url(index), router)
        for index, user in enumerate(fixture["idle_users"][: params["idle_sockets"]])
    ]
    connect = await connect_all(pair_users + group_users + idle_users, concurrency=50)
    log(f"S5 {target.label}: connected {connect['connected']}/{connect['sockets']}")
    result: dict[str, Any] = {"connect": connect, "seconds": duration, "warmup_seconds": warmup}
    chat_id = relay_chat
    if target.is_product:
        result["group_create"] = await _group_create(target, router, members, group_size)
        chat_id = result["group_create"]["chat_id"]

    start = time.perf_counter() + 0.5
    schedules = _pair_schedules(senders, params["pair_rate"], duration, start=start)
    schedules.append(
        Schedule(
            group_users[0],
            chat_id,
            group_size - 1,
            evenly(start, int(duration * params["group_rate"]), params["group_rate"]),
        )
    )
    samples: list[dict[str, float]] = []
    churn = Counter()

    async def sample() -> None:
        while time.perf_counter() < start + duration:
            cpu = CpuWindow(target.pids).start()
            await asyncio.sleep(params["sample_seconds"])
            samples.append(
                {
                    "t": round(time.perf_counter() - start, 1),
                    "rss_mb": round(total_rss(target.pids) / 2**20, 2),
                    "cpu_pct": cpu.percent(),
                }
            )

    async def churn_sockets() -> None:
        # Reconnect idle sockets one after another: connect/disconnect paths must not leak either.
        index = 0
        while time.perf_counter() < start + duration and idle_users:
            await asyncio.sleep(1 / params["churn_per_second"])
            user = idle_users[index % len(idle_users)]
            index += 1
            await user.close()
            try:
                await user.connect(timeout=10)
                churn["reconnected"] += 1
            except Exception as error:  # noqa: BLE001 - counted
                churn[type(error).__name__] += 1

    rest_task = asyncio.create_task(
        _open_rest(
            target,
            fixture["history"]["reader"]["token"],
            fixture["history"]["chat_id"],
            fixture["history"]["messages"],
            params["rest_rate"],
            duration,
            16,
        )
        if target.is_product
        else asyncio.sleep(0, result={})
    )
    side_tasks = [asyncio.create_task(sample()), asyncio.create_task(churn_sockets())]
    messages = await run_schedules(router, target, schedules, tag=f"{RUN_TAG}soak", lead_in=warmup, drain=5)
    await asyncio.gather(*side_tasks)
    result["messages"] = messages
    result["rest"] = await rest_task
    result["churn"] = dict(churn)
    result["samples"] = samples
    after_warmup = [entry for entry in samples if entry["t"] >= warmup]
    if after_warmup:
        baseline, final = after_warmup[0]["rss_mb"], samples[-1]["rss_mb"]
        result["rss_after_warmup_mb"] = baseline
        result["rss_end_mb"] = final
        result["rss_max_mb"] = max(entry["rss_mb"] for entry in samples)
        result["rss_growth_pct"] = round(100 * (final - baseline) / baseline, 2)
    log(f"S5 {target.label}: rss growth {result.get('rss_growth_pct')}%, {_brief(messages)}")
    if target.is_product:
        await _group_delete(target, members[0], chat_id)
    await close_all(pair_users + group_users + idle_users)
    return result


SCENARIOS: dict[str, Callable[[Target, dict[str, Any], dict[str, Any]], Awaitable[dict[str, Any]]]] = {
    "S1": scenario_s1,
    "S2": scenario_s2,
    "S3": scenario_s3,
    "S4": scenario_s4,
    "S5": scenario_s5,
    "CALLS": scenario_calls,
}


def main() -> None:
    parser = argparse.ArgumentParser(description="Bench load generator (run by bench/run.py).")
    parser.add_argument("--spec", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    spec = json.loads(Path(args.spec).read_text())
    fixture = json.loads(Path(spec["fixture"]).read_text())
    target = Target(spec["target"])
    cpu = CpuWindow([os.getpid()]).start()
    started = time.perf_counter()
    result = asyncio.run(SCENARIOS[spec["scenario"]](target, fixture, spec["params"]))
    result["loadgen"] = {
        "seconds": round(time.perf_counter() - started, 1),
        "cpu_pct": cpu.percent(),
        "rss_mb": round(rss_bytes(os.getpid()) / 2**20, 1),
    }
    Path(args.out).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
