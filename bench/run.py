"""The benchmark orchestrator: one command starts everything, measures, stops everything.

    .venv/bin/python -m bench.run [--quick] [--scenarios S1,S2,S3,S4,S5] [--processes 1,2] [--profile]

It creates a dedicated PostgreSQL database (messenger_bench) and uses a dedicated Redis DB
number, migrates and fills the database (bench/setup_data.py), then for each scenario and each
configuration - the bare relay without and with PostgreSQL (bench/relay.py), the product on 1 and
on 2 daphne processes - starts fresh server processes, runs the load generator (bench/loadgen.py,
a separate process), and stops them. Results go to bench/results/latest.{json,md} (bench/report.py)
and the Markdown table is printed. Everything listens on 127.0.0.1 and every wait has a deadline.
"""

import argparse
import contextlib
import hashlib
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import report

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
WORK = RESULTS / "work"
PYTHON = sys.executable
BIN = Path(PYTHON).parent

PG_SERVER = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
DB_NAME = os.environ.get("BENCH_DB", "messenger_bench")
REDIS_URL = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/13")  # a Redis DB of its own: it is flushed
BENCH_SECRET = "bench-only-secret-key-" + "x" * 40

ALL_SCENARIOS = ("S1", "S2", "S3", "S4", "S5", "CALLS")

# Sizes and durations. `quick` keeps every scenario but small, for development.
PARAMS: dict[str, dict[str, dict[str, Any]]] = {
    "full": {
        "S1": {
            "pairs": 50,
            "probe_messages": 200,  # a burst that sets where the steps start: capacity / start_fraction
            "start_fraction": 8,
            "min_rate": 10,
            "factor": 2.0,
            "refine_steps": 3,
            "retries": 1,
            "max_rate": 16_000,  # near where one load generator process runs out of CPU
            "max_steps": 12,
            "step_seconds": 5,
            "lead_in_seconds": 1,
            "drain_seconds": 2,
            "warmup_seconds": 3,
            "half_seconds": 10,
            "p99_limit_ms": 100,
        },
        "S2": {
            "sizes": [100, 1000],
            "probe_messages": 10,
            "burst_rate": 1000,
            "burst_seconds": 5,
            "max_burst": 1000,
            "latency_messages": 30,
            "latency_rate_cap": {"100": 10, "1000": 2},
        },
        "S3": {
            "sockets": 10_000,
            "warm_sockets": 100,
            "connect_concurrency": 50,
            "settle_seconds": 5,
            "idle_seconds": 20,
        },
        "S4": {"concurrency": 16, "warmup_seconds": 3, "seconds": 10},
        "S5": {
            "seconds": 300,
            "warmup_seconds": 60,
            "pairs": 50,
            "pair_rate": 20,  # defaults; a quarter of the S1 / S4 capacities when this run measured them
            "group_size": 100,
            "group_rate": 1,
            "rest_rate": 10,
            "idle_sockets": 1000,
            "churn_per_second": 2,
            "sample_seconds": 5,
        },
        "CALLS": {
            "calls": 500,  # concurrent 1:1 calls, all going on at once by the end
            "start_rate": 5,  # calls started per second until all are up (100 s for 500)
            "candidates": 20,  # ICE candidates each side trickles, after its offer or answer
            "candidate_interval_ms": 20,  # trickled as a browser gathers them: 400 ms for 20
            "sdp_bytes": 2500,  # about an audio+video offer's size
            "drain_seconds": 15,
        },
        "setup": {"history": 100_000},
    },
    "quick": {
        "S1": {
            "start_fraction": 4,
            "refine_steps": 1,
            "step_seconds": 2,
            "lead_in_seconds": 0.5,
            "drain_seconds": 1,
            "warmup_seconds": 1,
            "half_seconds": 4,
        },
        "S2": {"sizes": [100], "burst_seconds": 2, "latency_messages": 10},
        "S3": {"sockets": 2000, "settle_seconds": 2, "idle_seconds": 5},
        "S4": {"warmup_seconds": 1, "seconds": 4},
        "S5": {"seconds": 30, "warmup_seconds": 10, "idle_sockets": 200, "sample_seconds": 2},
        "CALLS": {"calls": 100},
        "setup": {"history": 10_000},
    },
}

# The loadgen of one scenario run may take at most this long (seconds) before it is killed.
LOADGEN_TIMEOUT = {"S1": 900, "S2": 900, "S3": 900, "S4": 300, "S5": 900, "CALLS": 600}


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def params_for(quick: bool) -> dict[str, dict[str, Any]]:
    merged = {name: dict(values) for name, values in PARAMS["full"].items()}
    if quick:
        for name, values in PARAMS["quick"].items():
            merged[name].update(values)
    return merged


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def raise_fd_limit() -> None:
    """10,000 sockets need more descriptors than the usual 1,024; children inherit the limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 65_536 if hard == resource.RLIM_INFINITY else min(hard, 65_536)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


# --- processes ---------------------------------------------------------------------------------


class Processes:
    """Child processes of one configuration; all are stopped on exit, whatever happened."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.children: list[subprocess.Popen] = []
        self.logs: list[Any] = []

    def start(self, command: list[str], env: dict[str, str], tag: str) -> subprocess.Popen:
        log_file = open(WORK / f"{self.name}-{tag}.log", "w")  # noqa: SIM115 - closed in stop()
        self.logs.append(log_file)
        child = subprocess.Popen(  # noqa: S603 - our own commands
            command, cwd=REPO, env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.children.append(child)
        return child

    def stop(self) -> None:
        for child in self.children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for child in self.children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait(timeout=5)
        for log_file in self.logs:
            log_file.close()
        self.children, self.logs = [], []

    def __enter__(self) -> "Processes":
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()


def product_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="messenger.settings",
        DATABASE_URL=f"{PG_SERVER}/{DB_NAME}",
        REDIS_URL=REDIS_URL,
        DJANGO_ENV="development",
        DJANGO_DEBUG="false",  # DEBUG keeps every SQL query in memory
        DJANGO_SECRET_KEY=BENCH_SECRET,
        LOG_LEVEL="WARNING",
        ACCESS_TOKEN_LIFETIME_SECONDS="86400",  # noqa: S106 - a lifetime, not a secret
        # The load is the point: per-socket frame limits and auth throttles out of the way.
        WS_RATE_LIMIT_PER_SECOND="1000000",
        WS_RATE_LIMIT_BURST="1000000",
        THROTTLE_LOGIN="1000000/min",
        THROTTLE_REGISTER="1000000/min",
        THROTTLE_REFRESH="1000000/min",
        CHANNEL_LAYER_PREFIX="bench",
        CACHE_KEY_PREFIX="bench",
        PYTHONUNBUFFERED="1",
    )
    return env


def wait_http(url: str, child: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise RuntimeError(f"server exited with {child.returncode} before answering {url}")
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310
            if response.status == 200:
                return
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


def wait_tcp(port: int, child: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise RuntimeError(f"relay exited with {child.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.2)
    raise RuntimeError(f"port {port} did not open within {timeout}s")


def reset_state() -> None:
    """Fresh Redis DB and no presence rows left by servers stopped earlier."""
    import psycopg
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    with psycopg.connect(f"{PG_SERVER}/{DB_NAME}", autocommit=True) as connection:
        connection.execute("DELETE FROM chats_socketconnection")
        # Calls of an earlier configuration: a chat's ongoing call would refuse the next one.
        for table in ("calls_callparticipant", "calls_callinvitee", "calls_call"):
            connection.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed names


def start_product(processes: Processes, count: int) -> dict[str, Any]:
    reset_state()
    ports = [free_port() for _ in range(count)]
    children = []
    for index, port in enumerate(ports):
        command = [
            PYTHON,
            "-m",
            "messenger.server",
            "-v",
            "0",
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "messenger.asgi:application",
        ]
        children.append(processes.start(command, product_env(), f"daphne{index}"))
    for port, child in zip(ports, children, strict=True):
        wait_http(f"http://127.0.0.1:{port}/healthz", child)
    return {
        "label": f"product_{count}p",
        "kind": "product",
        "ws": [f"ws://127.0.0.1:{port}/ws/" for port in ports],
        "http": [f"http://127.0.0.1:{port}" for port in ports],
        "pids": [child.pid for child in children],
    }


def start_relay(processes: Processes, mode: str) -> dict[str, Any]:
    port = free_port()
    command = [PYTHON, "-m", "bench.relay", "--port", str(port), "--mode", mode, "--dsn", f"{PG_SERVER}/{DB_NAME}"]
    child = processes.start(command, dict(os.environ, PYTHONUNBUFFERED="1"), f"relay-{mode}")
    wait_tcp(port, child)
    return {"label": f"relay_{mode}", "kind": "relay", "ws": [f"ws://127.0.0.1:{port}/ws/"], "pids": [child.pid]}


# --- database ------------------------------------------------------------------------------------


def create_database(params: dict[str, Any]) -> Path:
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{DB_NAME}"')
    env = product_env()
    started = time.perf_counter()
    subprocess.run(  # noqa: S603
        [PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=REPO, env=env, check=True, timeout=600
    )
    log(f"migrated {DB_NAME} in {time.perf_counter() - started:.1f}s")
    fixture = WORK / "fixture.json"
    idle_users = params["S3"]["warm_sockets"] + max(params["S3"]["sockets"], params["S5"]["idle_sockets"])
    subprocess.run(  # noqa: S603
        [
            PYTHON,
            "-m",
            "bench.setup_data",
            "--out",
            str(fixture),
            "--pairs",
            str(params["S1"]["pairs"]),
            "--group-users",
            str(max(params["S2"]["sizes"] + [params["S5"]["group_size"]])),
            "--idle-users",
            str(idle_users),
            "--history",
            str(params["setup"]["history"]),
            "--call-pairs",
            str(params["CALLS"]["calls"]),
        ],
        cwd=REPO,
        env=env,
        check=True,
        timeout=900,
    )
    return fixture


def drop_database() -> None:
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')


# --- one measurement -------------------------------------------------------------------------------


def run_loadgen(scenario: str, target: dict[str, Any], fixture: Path, params: dict[str, Any]) -> dict[str, Any]:
    spec_path = WORK / f"spec-{scenario}-{target['label']}.json"
    out_path = WORK / f"result-{scenario}-{target['label']}.json"
    out_path.unlink(missing_ok=True)
    spec = {"scenario": scenario, "target": target, "fixture": str(fixture), "params": params}
    spec_path.write_text(json.dumps(spec, indent=1))
    command = [PYTHON, "-m", "bench.loadgen", "--spec", str(spec_path), "--out", str(out_path)]
    try:
        completed = subprocess.run(command, cwd=REPO, timeout=LOADGEN_TIMEOUT[scenario], check=False)  # noqa: S603
    except subprocess.TimeoutExpired:
        return {"error": f"load generator timed out after {LOADGEN_TIMEOUT[scenario]}s"}
    if completed.returncode != 0 or not out_path.exists():
        return {"error": f"load generator exited with {completed.returncode}"}
    return json.loads(out_path.read_text())


def profile_server(target: dict[str, Any], fixture: Path, params: dict[str, Any], rate: float) -> dict[str, Any]:
    """Run S1 at a fixed rate while py-spy samples the first server process, twice.

    First with --gil (only the thread holding the GIL: where the CPU goes in Python), then with
    --idle (every thread, waiting included: how the event loop and the database thread spend their time).
    """
    py_spy = shutil.which("py-spy", path=str(BIN)) or shutil.which("py-spy")
    if not py_spy:
        return {"error": "py-spy is not installed (pip install -r requirements-dev.txt)"}
    marker = WORK / "profile-started"
    marker.unlink(missing_ok=True)
    seconds = 20
    passes = {"cpu": ["--gil"], "wall": ["--idle", "--threads"]}
    profile_params = dict(params, fixed_rate=rate, fixed_seconds=len(passes) * (seconds + 2) + 4, marker=str(marker))
    spec_path = WORK / "spec-profile.json"
    out_path = WORK / "result-profile.json"
    out_path.unlink(missing_ok=True)
    spec = {"scenario": "S1", "target": target, "fixture": str(fixture), "params": profile_params}
    spec_path.write_text(json.dumps(spec))
    loadgen = subprocess.Popen(  # noqa: S603
        [PYTHON, "-m", "bench.loadgen", "--spec", str(spec_path), "--out", str(out_path)], cwd=REPO
    )
    summary: dict[str, Any] = {"rate": round(rate, 1), "seconds_per_pass": seconds}
    try:
        deadline = time.monotonic() + 120
        while not marker.exists() and loadgen.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(2)  # past the lead-in
        for name, options in passes.items():
            raw = WORK / f"profile-{target['label']}-{name}.txt"
            command = [py_spy, "record", "--pid", str(target["pids"][0]), "--duration", str(seconds), "--rate", "100"]
            command += ["--format", "raw", "--nonblocking", "--output", str(raw), *options]
            subprocess.run(command, check=False, timeout=seconds + 60, capture_output=True)  # noqa: S603
            summary[name] = report.profile_summary(raw) if raw.exists() else {"error": "py-spy wrote nothing"}
        loadgen.wait(timeout=120)
    finally:
        if loadgen.poll() is None:
            loadgen.kill()
    if out_path.exists():
        summary["load"] = json.loads(out_path.read_text()).get("fixed")
    return summary


# --- scenarios ---------------------------------------------------------------------------------------


def configurations(scenario: str, process_counts: list[int]) -> list[tuple[str, Any]]:
    """Which servers each scenario runs against: the bare references first, then the product."""
    product = [("product", count) for count in process_counts]
    single = [("product", process_counts[0])] if 1 not in process_counts else [("product", 1)]
    return {
        "S1": [("relay", "memory"), ("relay", "postgres"), *product],
        "S2": [("relay", "memory"), ("relay", "postgres"), *product],
        "S3": [("relay", "memory"), *single],  # "on one server process"
        "S4": product,
        "S5": single,
        "CALLS": product,  # signaling exists only in the product
    }[scenario]


def code_version() -> str:
    """The commit measured, marked when the work tree has uncommitted changes outside bench/."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],  # noqa: S607
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    changed = [line for line in status.splitlines() if not line[3:].startswith("bench/") and "requirements" not in line]
    if not changed:
        return commit
    # Others may be editing the server while the bench runs: a digest of the diff tells runs apart.
    diff = subprocess.run(
        ["git", "diff", "HEAD", "--", ".", ":(exclude)bench"],  # noqa: S607
        cwd=REPO,
        capture_output=True,
        check=False,
    ).stdout
    return f"{commit}+diff:{hashlib.sha1(diff).hexdigest()[:8]}"  # noqa: S324 - a label, not security


def soak_rates(measured: dict[str, Any], params: dict[str, Any]) -> dict[str, float]:
    """Soak at about a quarter of the capacities this run measured (S1, S4), else at the defaults."""
    rates = {}
    s1_best = measured.get("S1", {}).get("product_1p", {}).get("max_rate")
    if s1_best:
        rates["pair_rate"] = round(max(5.0, min(500.0, s1_best / 4)), 1)
    pages = measured.get("S4", {}).get("product_1p", {}).get("closed", {}).get("pages_per_s")
    if pages:
        rates["rest_rate"] = round(max(2.0, min(250.0, pages / 4)), 1)
    return rates


def run(args: argparse.Namespace) -> dict[str, Any]:
    params = params_for(args.quick)
    scenarios = [name.strip().upper() for name in args.scenarios.split(",") if name.strip()]
    counts = args.processes or ("1" if args.quick else "1,2")
    process_counts = sorted({int(count) for count in counts.split(",")})
    WORK.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    results: dict[str, Any] = {
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "mode": "quick" if args.quick else "full",
        "processes": process_counts,
        "params": {name: params[name] for name in scenarios},
        "machine": report.machine_info(PG_SERVER, REDIS_URL),
        "code": code_version(),
        "scenarios": {},
    }
    log(f"setting up {DB_NAME} ({'quick' if args.quick else 'full'} sizes)")
    fixture = create_database(params)
    results["setup_seconds"] = round(time.perf_counter() - started, 1)
    try:
        for scenario in scenarios:
            scenario_params = dict(params[scenario])
            if scenario == "S5":
                scenario_params.update(soak_rates(results["scenarios"], scenario_params))
                results["params"][scenario] = scenario_params  # the rates actually used
            results["scenarios"][scenario] = {}
            for kind, variant in configurations(scenario, process_counts):
                if args.only and f"{kind}_{variant}{'p' if kind == 'product' else ''}" not in args.only:
                    continue
                with Processes(f"{scenario}-{kind}-{variant}") as processes:
                    try:
                        target = (
                            start_product(processes, variant) if kind == "product" else start_relay(processes, variant)
                        )
                    except Exception as error:  # noqa: BLE001 - reported, the other configurations still run
                        log(f"{scenario} {kind} {variant}: could not start: {error}")
                        results["scenarios"][scenario][f"{kind}_{variant}"] = {"error": str(error)}
                        continue
                    log(f"{scenario} on {target['label']} (pids {target['pids']})")
                    code = code_version()
                    result = run_loadgen(scenario, target, fixture, scenario_params)
                    result["code"] = code
                    results["scenarios"][scenario][target["label"]] = result
                    if args.profile and scenario == "S1" and target["label"] == "product_1p" and result.get("max_rate"):
                        log("profiling product_1p with py-spy during S1")
                        rate = result["max_rate"] * 0.75  # busy, below where latency runs away
                        results["profile"] = profile_server(target, fixture, scenario_params, rate)
            write_partial(results)
    finally:
        if not args.keep_db:
            drop_database()
    results["total_seconds"] = round(time.perf_counter() - started, 1)
    return results


def write_partial(results: dict[str, Any]) -> None:
    (WORK / "partial.json").write_text(json.dumps(results, indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the benchmark suite (see bench/README.md).")
    parser.add_argument("--quick", action="store_true", help="small sizes and short runs (a few minutes)")
    parser.add_argument("--scenarios", default=",".join(ALL_SCENARIOS), help="e.g. S1,S4")
    parser.add_argument(
        "--processes", default=None, help="product server process counts (default 1,2; with --quick, 1)"
    )
    parser.add_argument("--profile", action="store_true", help="py-spy the product during S1 (1 process)")
    parser.add_argument(
        "--only", type=lambda text: text.split(","), help="only these configurations, e.g. relay_postgres,product_1p"
    )
    parser.add_argument("--keep-db", action="store_true", help="leave the bench database for inspection")
    parser.add_argument("--publish", action="store_true", help="also copy the table to bench/RESULTS.md and README")
    args = parser.parse_args()
    raise_fd_limit()
    results = run(args)
    markdown = report.write(results, RESULTS)
    if args.publish:
        report.publish(markdown, REPO / "bench")
    print(markdown)
    log(f"done in {results['total_seconds']}s; wrote {RESULTS / 'latest.json'} and {RESULTS / 'latest.md'}")


if __name__ == "__main__":
    main()
