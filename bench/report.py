"""Results: the machine, the JSON file, the Markdown tables with ratios, the targets, the profile.

bench/results/latest.json holds everything the load generator measured; bench/results/latest.md
the short tables. `publish` copies the tables to bench/RESULTS.md and into bench/README.md.
"""

import json
import os
import platform
import re
import sys
from collections import Counter
from importlib import metadata
from pathlib import Path
from typing import Any

LABELS = {
    "relay_memory": "bare relay (websockets, no storage)",
    "relay_postgres": "bare relay + PostgreSQL insert",
    "product_1p": "product, 1 daphne process",
    "product_2p": "product, 2 daphne processes",
}
# Profiled frames in the project's own files are shown relative to the checkout.
REPO = Path(__file__).resolve().parent.parent
README_START = "<!-- bench-results:start -->"
README_END = "<!-- bench-results:end -->"


# --- machine ---------------------------------------------------------------------------------------


def machine_info(pg_server: str, redis_url: str) -> dict[str, Any]:
    info: dict[str, Any] = {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "ram_gib": _ram_gib(),
        "kernel": platform.release(),
        "python": platform.python_version(),
    }
    try:
        import psycopg

        with psycopg.connect(f"{pg_server}/postgres", connect_timeout=5) as connection:
            info["postgresql"] = connection.execute("SHOW server_version").fetchone()[0]
    except Exception as error:  # noqa: BLE001 - informational
        info["postgresql"] = f"unknown ({type(error).__name__})"
    try:
        import redis

        info["redis"] = redis.Redis.from_url(redis_url, socket_timeout=5).info("server")["redis_version"]
    except Exception as error:  # noqa: BLE001 - informational
        info["redis"] = f"unknown ({type(error).__name__})"
    for package in ("Django", "channels", "channels-redis", "daphne", "Twisted", "websockets", "psycopg"):
        try:
            info[package.lower()] = metadata.version(package)
        except metadata.PackageNotFoundError:
            info[package.lower()] = None
    return info


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _ram_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


# --- profile ---------------------------------------------------------------------------------------

_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")
PACKAGE_GROUPS = [
    ("json encode/decode", ("json/",)),
    ("psycopg (PostgreSQL driver)", ("psycopg/", "psycopg_binary", "psycopg_pool")),
    ("Django ORM / db", ("django/db/",)),
    ("DRF serializers / views", ("rest_framework/",)),
    ("Django (other)", ("django/",)),
    ("channels-redis / redis client", ("channels_redis/", "redis/", "msgpack")),
    ("channels", ("channels/",)),
    ("asgiref (sync_to_async / async_to_sync)", ("asgiref/",)),
    ("daphne / autobahn / twisted", ("daphne/", "autobahn/", "twisted/", "txaio/")),
    ("asyncio / threading / selectors", ("asyncio/", "threading.py", "selectors.py", "concurrent/", "queue.py")),
    ("product code", ("/chats/", "/accounts/", "/messenger/", "/media/")),
]


def _parse_frame(frame: str) -> tuple[str, str]:
    match = _FRAME.match(frame.strip())
    if not match:
        return frame.strip(), ""
    return match["function"], match["file"]


def _short(path: str) -> str:
    for marker in ("site-packages/", "/lib/python3.11/", f"{REPO}/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


def _group(path: str) -> str:
    for name, needles in PACKAGE_GROUPS:
        if any(needle in path for needle in needles):
            return name
    return "other"


# Levers named in the issue, found by frame text: a sample counts once per lever if any of its frames match.
FOCUS = {
    "DRF serializers (.data)": ("Serializer.data (rest_framework",),
    "JSON encode": ("dumps (json/", "JSONEncoder.encode (json/"),
    "JSON decode": ("loads (json/",),
    "SQL compilation (Django ORM)": ("SQLCompiler.as_sql (django",),
    "psycopg execute (incl. waiting for PostgreSQL)": ("Cursor.execute (psycopg",),
    "transaction commit": ("commit (django/db", "Connection.commit (psycopg"),
    "channel layer (channels-redis)": ("(channels_redis/",),
    "work inside database_sync_to_async": ("SyncToAsync.thread_handler (asgiref",),
    "async_to_sync hop (on_commit wake-up)": ("AsyncToSync.__call__ (asgiref",),
    "WebSocket send (autobahn)": ("sendMessage (autobahn",),
    "stream tail": ("(chats/stream_tail.py",),
    "send batcher": ("(chats/send_batch.py",),
    "channel-layer relay": ("(messenger/relay.py",),
    "message_send service": ("message_send (chats/services/messages.py",),
}


IDLE_LEAVES = ("EpollSelector.select (", "_worker (concurrent/futures/thread.py)", "SimpleQueue.get", "Queue.get (")


def _wall_state(frames: list[str], leaf: str, path: str) -> str:
    """What a thread was doing in one wall-clock sample."""
    if leaf.startswith(IDLE_LEAVES):
        return "idle"
    if "psycopg" in path:
        return "PostgreSQL round trip (psycopg)"
    if any("AsyncToSync.__call__" in frame for frame in frames) and "threading.py" in path:
        return "blocked in async_to_sync"
    return "running Python"


def profile_summary(raw_path: Path, top: int = 10) -> dict[str, Any]:
    """Summarise py-spy's raw (collapsed) stacks: busiest threads, leaf frames, packages, levers."""
    threads: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    groups: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    focus: Counter[str] = Counter()
    thread_leaves: dict[str, Counter[str]] = {}
    thread_states: dict[str, Counter[str]] = {}
    total = 0
    for line in raw_path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        thread = frames[0].split(": ", 1)[-1] if frames[0].startswith("thread") else "?"
        # Pool threads are one role: "asyncio_0".."asyncio_5" -> "asyncio_*".
        thread = re.sub(r"_\d+$", "_*", thread)
        frames = [frame for frame in frames if not frame.startswith(("thread", "process"))]
        if not frames:
            continue
        total += count
        threads[thread] += count
        function, path = _parse_frame(frames[-1])
        leaf = f"{function} ({_short(path)})"
        leaves[leaf] += count
        thread_leaves.setdefault(thread, Counter())[leaf] += count
        thread_states.setdefault(thread, Counter())[_wall_state(frames, leaf, path)] += count
        groups[_group(path)] += count
        names = {f"{fn} ({_short(fp)})" for fn, fp in map(_parse_frame, frames)}
        for name in names:
            inclusive[name] += count
        for lever, needles in FOCUS.items():
            if any(needle in name for name in names for needle in needles):
                focus[lever] += count

    def share(counter: Counter[str], limit: int) -> list[dict[str, Any]]:
        return [
            {"frame": name, "samples": samples, "pct": round(100 * samples / total, 1)}
            for name, samples in counter.most_common(limit)
        ]

    return {
        "samples": total,
        "threads": share(threads, 8),
        "top_self": share(leaves, top),
        "by_package": share(groups, 20),
        "levers": share(focus, len(FOCUS)),
        "top_inclusive": share(inclusive, 40),
        "top_self_per_thread": {name: share(counter, 8) for name, counter in thread_leaves.items()},
        # Meaningful for an --idle profile: how each thread's wall time splits.
        "thread_states_pct": {
            name: {state: round(100 * samples / sum(counter.values()), 1) for state, samples in counter.most_common()}
            for name, counter in thread_states.items()
        },
    }


# --- formatting --------------------------------------------------------------------------------------


def _num(value: Any, suffix: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and value >= 100:
        value = round(value)
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return f"{int(value):,}{suffix}"
    return f"{value}{suffix}"


def _ratio(value: Any, reference: Any) -> str:
    if not value or not reference:
        return "-"
    return f"{100 * value / reference:.0f}%"


def _lat(latency: dict[str, Any] | None) -> str:
    if not latency or latency.get("p50") is None:
        return "-"
    return f"{latency['p50']} / {latency['p99']} ms"


def _loss(result: dict[str, Any] | None) -> str:
    if not result or "lost" not in result:
        return "-"
    errors = sum(result.get("errors", {}).values())
    text = f"{result['lost']} / {result['duplicates']}"
    return text + (f" ({errors} errors)" if errors else "")


def _s1_table(s1: dict[str, Any]) -> list[str]:
    relay = (s1.get("relay_memory") or {}).get("max_rate")
    relay_pg = (s1.get("relay_postgres") or {}).get("max_rate")
    lines = [
        "| server | highest sustainable rate (msg/s) | vs relay+PG | vs relay | p50 / p99 at half rate | "
        "lost / dups at half | server / loadgen CPU at half |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, result in s1.items():
        if "error" in result:
            lines.append(f"| {LABELS.get(label, label)} | error: {result['error']} | | | | | |")
            continue
        half = result.get("half") or {}
        rate = _num(result.get("max_rate")) + (" (cap)" if result.get("capped_at_max_rate") else "")
        lines.append(
            f"| {LABELS.get(label, label)} | {rate} | {_ratio(result.get('max_rate'), relay_pg)} | "
            f"{_ratio(result.get('max_rate'), relay)} | {_lat(half.get('latency_ms'))} | {_loss(half)} | "
            f"{_num(half.get('server_cpu_pct'), '%')} / {_num(half.get('loadgen_cpu_pct'), '%')} |"
        )
    return lines


def _s2_table(s2: dict[str, Any]) -> list[str]:
    lines = [
        "| server | members | deliveries/s (burst) | vs relay | lost / dups (burst) | server / loadgen CPU (burst) "
        "| last member p50 / p99 (light load) | per delivery p50 / p99 | lost (light) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    relay_groups = (s2.get("relay_memory") or {}).get("groups", {})
    for label, result in s2.items():
        if "error" in result:
            lines.append(f"| {LABELS.get(label, label)} | error: {result['error']} | | | | | | | |")
            continue
        for size, group in result.get("groups", {}).items():
            burst, light = group.get("burst") or {}, group.get("latency") or {}
            reference = (relay_groups.get(size, {}).get("burst") or {}).get("deliveries_per_s")
            lines.append(
                f"| {LABELS.get(label, label)} | {_num(int(size))} | {_num(burst.get('deliveries_per_s'))} | "
                f"{_ratio(burst.get('deliveries_per_s'), reference)} | {_loss(burst)} | "
                f"{_num(burst.get('server_cpu_pct'), '%')} / {_num(burst.get('loadgen_cpu_pct'), '%')} | "
                f"{_lat(light.get('last_member_ms'))} | {_lat(light.get('latency_ms'))} | {_num(light.get('lost'))} |"
            )
    return lines


def _s3_table(s3: dict[str, Any]) -> list[str]:
    relay = (s3.get("relay_memory") or {}).get("kb_per_socket")
    lines = [
        "| server | sockets connected | failed handshakes (retried) | connect rate | KB per socket | vs relay | "
        "idle CPU (% of a core) |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, result in s3.items():
        if "error" in result:
            lines.append(f"| {LABELS.get(label, label)} | error: {result['error']} | | | | | |")
            continue
        connect = result.get("connect", {})
        failed = sum(connect.get("failed_handshakes", {}).values())
        lines.append(
            f"| {LABELS.get(label, label)} | {_num(connect.get('connected'))} / {_num(connect.get('sockets'))} | "
            f"{_num(failed)} | {_num(connect.get('per_second'), '/s')} | {_num(result.get('kb_per_socket'))} | "
            f"{_ratio(result.get('kb_per_socket'), relay)} | {_num(result.get('idle_cpu_pct'), '%')} |"
        )
    return lines


def _s4_table(s4: dict[str, Any]) -> list[str]:
    lines = [
        "| server | pages/s (closed loop) | p50 / p99 closed loop | p50 / p99 at half rate | errors |",
        "|---|---|---|---|---|",
    ]
    for label, result in s4.items():
        if "error" in result:
            lines.append(f"| {LABELS.get(label, label)} | error: {result['error']} | | | |")
            continue
        closed, half = result.get("closed", {}), result.get("half", {})
        errors = sum(closed.get("errors", {}).values()) + sum(half.get("errors", {}).values())
        lines.append(
            f"| {LABELS.get(label, label)} | {_num(closed.get('pages_per_s'))} (x{closed.get('concurrency')}) | "
            f"{_lat(closed.get('latency_ms'))} | {_lat(half.get('latency_ms'))} | {errors} |"
        )
    return lines


def _s5_table(s5: dict[str, Any]) -> list[str]:
    lines = [
        "| server | soak | RSS after warm-up -> end (max) | growth | 1:1 + group p50 / p99 | lost / dups | "
        "REST p99 | reconnects |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, result in s5.items():
        if "error" in result:
            lines.append(f"| {LABELS.get(label, label)} | error: {result['error']} | | | | | | |")
            continue
        messages, rest = result.get("messages", {}), result.get("rest", {})
        lines.append(
            f"| {LABELS.get(label, label)} | {result.get('seconds')} s (warm-up {result.get('warmup_seconds')} s) | "
            f"{result.get('rss_after_warmup_mb')} -> {result.get('rss_end_mb')} MB ({result.get('rss_max_mb')}) | "
            f"{_num(result.get('rss_growth_pct'), '%')} | {_lat(messages.get('latency_ms'))} | {_loss(messages)} | "
            f"{(rest.get('latency_ms') or {}).get('p99', '-')} ms | {result.get('churn', {}).get('reconnected', 0)} |"
        )
    return lines


def _calls_table(calls: dict[str, Any]) -> list[str]:
    lines = [
        "| server | calls set up / started (at calls/s) | setup p50 / p99 | signaling frames relayed | "
        "relay p50 / p99 | lost / dups | errors | hung up | server / loadgen CPU |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for label, result in calls.items():
        if "error" in result:
            lines.append(f"| {LABELS.get(label, label)} | error: {result['error']} | | | | | | | |")
            continue
        signaling = result.get("signaling", {})
        errors = ", ".join(f"{code} {count}" for code, count in result.get("errors", {}).items()) or "0"
        lines.append(
            f"| {LABELS.get(label, label)} | {_num(result.get('set_up'))} / {_num(result.get('calls'))} "
            f"({result.get('start_rate')}/s) | {_lat(result.get('setup_ms'))} | {_num(signaling.get('delivered'))} "
            f"| {_lat(result.get('relay_ms'))} | {signaling.get('lost')} / {signaling.get('duplicates')} | {errors} "
            f"| {_num(result.get('ended'))} | {_num(result.get('server_cpu_pct'), '%')} / "
            f"{_num(result.get('loadgen_cpu_pct'), '%')} |"
        )
    return lines


# --- targets -----------------------------------------------------------------------------------------


def _check(rows: list[dict[str, Any]], name: str, measured: Any, goal: str, met: bool | None) -> None:
    rows.append({"target": name, "measured": measured, "goal": goal, "met": met})


def targets(scenarios: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets, each checked against this run's figures (ratios within the same run)."""
    rows: list[dict[str, Any]] = []
    s1 = scenarios.get("S1", {})
    relay_pg = (s1.get("relay_postgres") or {}).get("max_rate")
    for label in ("product_1p", "product_2p"):
        result = s1.get(label)
        if not result or "error" in result:
            continue
        rate, half = result.get("max_rate"), result.get("half") or {}
        ratio = rate / relay_pg if rate and relay_pg else None
        _check(
            rows,
            f"S1 {label}: rate vs relay+PG",
            f"{ratio:.0%}" if ratio else "-",
            ">= 50%",
            bool(ratio and ratio >= 0.5),
        )
        p99 = (half.get("latency_ms") or {}).get("p99")
        _check(rows, f"S1 {label}: p99 at half rate", f"{p99} ms", "<= 25 ms", p99 is not None and p99 <= 25)
        clean = half and not half.get("lost") and not half.get("duplicates") and not half.get("errors")
        _check(rows, f"S1 {label}: loss / dups at half rate", _loss(half), "0 / 0", bool(clean))
    s2 = scenarios.get("S2", {})
    relay_groups = (s2.get("relay_memory") or {}).get("groups", {})
    for label in ("product_1p", "product_2p"):
        groups = (s2.get(label) or {}).get("groups", {})
        group = groups.get("100")
        reference = (relay_groups.get("100", {}).get("burst") or {}).get("deliveries_per_s")
        if group:
            rate = (group.get("burst") or {}).get("deliveries_per_s")
            ratio = rate / reference if rate and reference else None
            _check(
                rows,
                f"S2 {label}: 100 members, deliveries/s vs relay",
                f"{ratio:.0%}" if ratio else "-",
                ">= 25%",
                bool(ratio and ratio >= 0.25),
            )
            lost = sum((group.get(phase) or {}).get("lost", 0) for phase in ("burst", "latency"))
            _check(rows, f"S2 {label}: 100 members, lost", lost, "0", lost == 0)
        group = groups.get("1000")
        if group:
            p99 = ((group.get("latency") or {}).get("last_member_ms") or {}).get("p99")
            _check(
                rows,
                f"S2 {label}: 1,000 members, last member p99",
                f"{p99} ms",
                "<= 250 ms",
                p99 is not None and p99 <= 250,
            )
    s3 = scenarios.get("S3", {})
    relay_kb = (s3.get("relay_memory") or {}).get("kb_per_socket")
    result = s3.get("product_1p")
    if result and "error" not in result:
        connect = result.get("connect", {})
        _check(
            rows,
            "S3: idle sockets on one process",
            f"{connect.get('connected')} / {connect.get('sockets')}",
            "10,000 / 10,000",
            connect.get("connected") == connect.get("sockets") >= 10_000,
        )
        kb = result.get("kb_per_socket")
        ratio = kb / relay_kb if kb and relay_kb else None
        _check(
            rows,
            "S3: memory per socket vs relay",
            f"{kb} KB ({ratio:.1f}x)" if ratio else "-",
            "<= 2x",
            bool(ratio and ratio <= 2),
        )
        cpu = result.get("idle_cpu_pct")
        _check(rows, "S3: idle CPU", f"{cpu}% of a core", "< 5%", cpu is not None and cpu < 5)
    for label, result in scenarios.get("S4", {}).items():
        if "error" in result:
            continue
        pages = result.get("closed", {}).get("pages_per_s")
        _check(rows, f"S4 {label}: pages/s", pages, ">= 1,000", bool(pages and pages >= 1000))
        p99 = (result.get("half", {}).get("latency_ms") or {}).get("p99")
        _check(rows, f"S4 {label}: p99 at half rate", f"{p99} ms", "<= 25 ms", p99 is not None and p99 <= 25)
    for label, result in scenarios.get("S5", {}).items():
        growth = result.get("rss_growth_pct")
        _check(
            rows, f"S5 {label}: memory growth after warm-up", f"{growth}%", "< 5%", growth is not None and growth < 5
        )
    for label, result in scenarios.get("CALLS", {}).items():
        if "error" in result:
            continue
        relay = (result.get("relay_ms") or {}).get("p99")
        setup = (result.get("setup_ms") or {}).get("p99")
        relay_met, setup_met = relay is not None and relay <= 10, setup is not None and setup <= 50
        _check(rows, f"calls {label}: signaling relay p99", f"{relay} ms", "<= 10 ms", relay_met)
        _check(rows, f"calls {label}: call setup p99", f"{setup} ms", "<= 50 ms", setup_met)
        complete = result.get("set_up") == result.get("calls") and not result.get("signaling", {}).get("lost")
        _check(rows, f"calls {label}: every call set up, no frame lost", complete, "yes", complete)
    return rows


# --- output ------------------------------------------------------------------------------------------


def _codes(results: dict[str, Any]) -> str:
    """The code measured; more than one when the server's files changed during the run."""
    seen = [results.get("code", "unknown")]
    for scenario in results["scenarios"].values():
        for result in scenario.values():
            if result.get("code") and result["code"] not in seen:
                seen.append(result["code"])
    return seen[0] if len(seen) == 1 else f"{seen[0]} (changed during the run: {', '.join(seen[1:])})"


def markdown(results: dict[str, Any]) -> str:
    machine = results["machine"]
    scenarios = results["scenarios"]
    out = [
        f"## Benchmark results ({results['mode']} run, {results['started_at']})",
        "",
        f"Machine: {machine['cpu']}, {machine['cores']} cores, {machine['ram_gib']} GiB RAM, Linux "
        f"{machine['kernel']}; Python {machine['python']}, PostgreSQL {machine['postgresql']}, Redis "
        f"{machine['redis']}; Django {machine['django']}, channels {machine['channels']}, channels-redis "
        f"{machine['channels-redis']}, daphne {machine['daphne']}, websockets {machine['websockets']}. "
        f"Code: {_codes(results)}. "
        f"Load generator, servers, PostgreSQL and Redis share the machine; ratios are within this run. "
        f"Total {results.get('total_seconds')} s.",
        "",
    ]
    sections = [
        (
            "S1",
            "S1 - 1:1 persisted delivery (50 pairs, open loop, rate stepped up until p99 > 100 ms or a loss)",
            _s1_table,
        ),
        ("S2", "S2 - group fan-out (one sender; burst for throughput, light load for latency)", _s2_table),
        ("S3", "S3 - idle sockets on one server process", _s3_table),
        ("S4", "S4 - REST history, pages of 50", _s4_table),
        ("S5", "S5 - soak mixing the above (memory of the server process)", _s5_table),
        (
            "CALLS",
            "Calls - concurrent 1:1 calls, each an offer, an answer and trickled candidates (open loop)",
            _calls_table,
        ),
    ]
    capped = any(result.get("capped_at_max_rate") for result in scenarios.get("S1", {}).values())
    notes = {
        "S1": "(cap): the step-up reached the load generator's limit; that figure is a lower bound." if capped else "",
        "S2": "The bare relay's bursts run the load generator near a full core: its figure is a lower bound.",
        "S3": (
            "Idle CPU includes the servers' own keepalive pings "
            "(the product's daphne pings sockets idle for 30 s, the relay every 20 s)."
        ),
    }
    for key, title, table in sections:
        if scenarios.get(key):
            out += [f"### {title}", "", *table(scenarios[key]), ""]
            if notes.get(key):
                out += [notes[key], ""]
    rows = targets(scenarios)
    if rows:
        out += ["### Targets", "", "| target | measured | goal | met |", "|---|---|---|---|"]
        for row in rows:
            out.append(f"| {row['target']} | {row['measured']} | {row['goal']} | {'yes' if row['met'] else 'NO'} |")
        out.append("")
    profile = results.get("profile") or {}
    cpu, wall = profile.get("cpu") or {}, profile.get("wall") or {}
    if "top_self" in cpu:
        out += [
            f"### Where the server's time goes (py-spy on product, 1 process, S1 at {profile['rate']} msg/s)",
            "",
            f"CPU (`py-spy --gil`: the thread holding the GIL, {cpu['samples']} samples) - top frames by self time:",
            "",
            "| frame | share |",
            "|---|---|",
            *(f"| `{row['frame']}` | {row['pct']}% |" for row in cpu["top_self"]),
            "",
            "| by package (self) | share | | lever (inclusive) | share |",
            "|---|---|---|---|---|",
            *(
                f"| {a['frame'] if a else ''} | {str(a['pct']) + '%' if a else ''} | | "
                f"{b['frame'] if b else ''} | {str(b['pct']) + '%' if b else ''} |"
                for a, b in _zip_longest(cpu["by_package"][:12], cpu["levers"])
            ),
            "",
        ]
    if "thread_states_pct" in wall:
        out += ["Wall clock per thread (`py-spy --idle --threads`):", "", "| thread | time split |", "|---|---|"]
        for name, states in wall["thread_states_pct"].items():
            split = ", ".join(f"{state} {pct}%" for state, pct in states.items())
            out.append(f"| {name} | {split} |")
        out.append("")
    return "\n".join(out)


def _zip_longest(first: list, second: list) -> list[tuple]:
    length = max(len(first), len(second))
    return [
        (first[index] if index < len(first) else None, second[index] if index < len(second) else None)
        for index in range(length)
    ]


def write(results: dict[str, Any], directory: Path) -> str:
    directory.mkdir(parents=True, exist_ok=True)
    results["targets"] = targets(results["scenarios"])
    (directory / "latest.json").write_text(json.dumps(results, indent=1))
    text = markdown(results)
    (directory / "latest.md").write_text(text + "\n")
    return text


def publish(text: str, bench_dir: Path) -> None:
    """Copy the tables between the markers of bench/RESULTS.md and of bench/README.md.

    What stands outside the markers is written by hand (comparisons between commits, the
    measurements behind the code) and kept.
    """
    results = bench_dir / "RESULTS.md"
    if results.exists() and README_START in results.read_text():
        _replace_between_markers(results, text)
    else:
        results.write_text(f"{README_START}\n{text}\n{README_END}\n")
    readme = bench_dir / "README.md"
    if readme.exists() and README_START in readme.read_text():
        # One heading level down: the table sits under the README's own "Latest results" heading.
        _replace_between_markers(
            readme, "\n".join(f"#{line}" if line.startswith("#") else line for line in text.splitlines())
        )


def _replace_between_markers(path: Path, text: str) -> None:
    head, _, rest = path.read_text().partition(README_START)
    _, _, tail = rest.partition(README_END)
    path.write_text(f"{head}{README_START}\n{text}\n{README_END}{tail}")


if __name__ == "__main__":
    # Re-render the Markdown from a JSON result: python -m bench.report bench/results/latest.json
    print(markdown(json.loads(Path(sys.argv[1]).read_text())))
