"""Real daphne processes on a real PostgreSQL and Redis, for the end-to-end tests in this folder.

Each test asks the `cluster` fixture for the servers it needs (`cluster.start("a", "b")`). The
servers run `messenger.asgi:application` exactly as production does, against pytest-django's
test database and a Redis database of their own, so several processes share one stream and one
channel layer the way a deployment does. Their output goes to var/e2e/ and is attached to the
report of a failing test.

The servers are stopped before the test's database flush (the `cluster` fixture depends on
`transactional_db`, so it is torn down first): a flush must not race a server still writing.
"""

import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from django.conf import settings

from tests.e2e.clients import Account, Socket
from tests.e2e.turn import TurnServer, start_turn_server
from tests.servers import free_port, server_database_url

ROOT = Path(__file__).resolve().parents[2]
LOG_ROOT = ROOT / "var" / "e2e"
# The servers' channel layer and cache live in their own Redis database, emptied once per session:
# the test process's database number plus this offset, so runs on different databases (0-7) of one
# Redis do not empty each other's.
SERVER_REDIS_DB_OFFSET = 8
STARTUP_TIMEOUT_SECONDS = 20.0
STOP_TIMEOUT_SECONDS = 10.0
# Direct-to-loopback requests: a proxy from the environment must not see them.
_LOCAL_HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class E2ESession:
    """What all servers of one pytest session share: a Redis namespace and a log folder."""

    tag: str
    log_dir: Path
    redis_flushed: bool = False


@dataclass
class Server:
    """One daphne process, restartable on the same port."""

    name: str
    port: int
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen | None = None
    starts: int = 0

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/"

    @property
    def origin(self) -> str:
        """The browser origin this server allows (DJANGO_ALLOWED_ORIGINS)."""
        return f"http://127.0.0.1:{self.port}"

    def spawn(self) -> None:
        assert self.process is None, f"daphne {self.name} is already running"
        self.starts += 1
        with self.log_path.open("a") as log:
            log.write(f"===== daphne {self.name} start #{self.starts} on port {self.port} =====\n")
            log.flush()
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "messenger.server",
                    "-b",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    "messenger.asgi:application",
                ],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait_healthy(self, deadline: float) -> None:
        """Return once /healthz answers 200; fail with the server's log if it exits or the deadline passes."""
        while True:
            assert self.process is not None
            if self.process.poll() is not None:
                pytest.fail(f"daphne {self.name} exited with {self.process.returncode} before answering /healthz")
            try:
                with _LOCAL_HTTP.open(f"{self.http_url}/healthz", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass  # not listening yet (URLError and HTTPError are OSErrors too)
            if time.monotonic() > deadline:
                pytest.fail(f"daphne {self.name} did not answer /healthz within {STARTUP_TIMEOUT_SECONDS} s")
            time.sleep(0.1)

    def stop(self) -> bool:
        """SIGTERM, then SIGKILL after a bounded wait. True if it exited on SIGTERM alone."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return True
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT_SECONDS)
            return True
        except subprocess.TimeoutExpired:
            self._dump_stacks(process)
            process.kill()
            process.wait(STOP_TIMEOUT_SECONDS)
            return False

    def _dump_stacks(self, process: subprocess.Popen) -> None:
        """Append every thread's stack of a hung server to its log (diagnosis for a failed stop)."""
        py_spy = Path(sys.executable).with_name("py-spy")
        if not py_spy.exists():
            return
        dump = subprocess.run(
            [str(py_spy), "dump", "--pid", str(process.pid)], capture_output=True, text=True, timeout=30, check=False
        )
        with self.log_path.open("a") as log:
            log.write(f"===== py-spy dump of a server that ignored SIGTERM =====\n{dump.stdout}{dump.stderr}\n")

    def kill(self) -> None:
        """SIGKILL: the process dies at once, without closing its sockets or anything else."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(STOP_TIMEOUT_SECONDS)

    def restart(self) -> bool:
        """Stop (SIGTERM) and start again on the same port; returns what stop() returned."""
        graceful = self.stop()
        self.spawn()
        self.wait_healthy(time.monotonic() + STARTUP_TIMEOUT_SECONDS)
        return graceful

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else "(no output)"


@dataclass
class Cluster:
    """The daphne servers of one test."""

    session: E2ESession
    test_name: str
    servers: list[Server] = field(default_factory=list)

    def start(self, *names: str, env: dict[str, str] | None = None) -> list[Server]:
        """Start one server per name, in parallel, and wait until each is healthy; `env` adds settings."""
        assert settings.REDIS_URL, "the servers share a Redis channel layer: run the tests with scripts/test"
        redis_url = _server_redis_url()
        if not self.session.redis_flushed:
            with redis.Redis.from_url(redis_url) as client:
                client.flushdb()
            self.session.redis_flushed = True
        started = []
        for name in names:
            port = free_port()
            server = Server(
                name=name,
                port=port,
                env={**_server_env(port=port, redis_url=redis_url, tag=self.session.tag), **(env or {})},
                log_path=self.session.log_dir / f"{self.test_name}-{name}.log",
            )
            self.servers.append(server)
            server.spawn()
            started.append(server)
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        for server in started:
            server.wait_healthy(deadline)
        return started

    def stop_all(self) -> None:
        for server in self.servers:
            server.stop()


def _server_redis_url() -> str:
    parts = urlsplit(settings.REDIS_URL)
    database = int(parts.path.strip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{(database + SERVER_REDIS_DB_OFFSET) % 16}"))


def _server_env(*, port: int, redis_url: str, tag: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "messenger.settings",
        "DATABASE_URL": server_database_url(),
        "REDIS_URL": redis_url,
        "CHANNEL_LAYER_PREFIX": f"e2e-{tag}",
        "CACHE_KEY_PREFIX": f"e2e-{tag}",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_ALLOWED_ORIGINS": f"http://127.0.0.1:{port},http://localhost:{port}",
        # Every test registers its users through the API.
        "THROTTLE_REGISTER": "1000/min",
        "THROTTLE_LOGIN": "1000/min",
        # Polling so slow that only the LISTEN/NOTIFY wake-up can deliver across processes in time.
        "STREAM_POLL_INTERVAL_SECONDS": "30",
        # Fast presence housekeeping, so a dead process's users go offline within seconds.
        "PRESENCE_HEARTBEAT_SECONDS": "1",
        "PRESENCE_STALE_AFTER_SECONDS": "3",
        "PYTHONUNBUFFERED": "1",
    }


@pytest.fixture(scope="session")
def e2e_session() -> E2ESession:
    tag = uuid.uuid4().hex[:10]
    log_dir = LOG_ROOT / tag
    log_dir.mkdir(parents=True, exist_ok=True)
    return E2ESession(tag=tag, log_dir=log_dir)


@pytest.fixture
def cluster(request, e2e_session: E2ESession, transactional_db) -> Iterator[Cluster]:
    running = Cluster(session=e2e_session, test_name=request.node.name)
    try:
        yield running
    finally:
        running.stop_all()


@pytest.fixture
def turn_server(tmp_path: Path) -> Iterator[TurnServer]:
    """A coturn on loopback with a shared secret (tests.e2e.turn), stopped after the test."""
    server = start_turn_server(tmp_path)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def connect(cluster: Cluster) -> AsyncIterator:
    """`await connect(server, account)`: an authenticated Socket that is closed after the test."""
    opened: list[Socket] = []

    async def open_socket(server: Server, account: Account, *, origin: str | None = None) -> Socket:
        opened.append(await Socket.open(server.ws_url, account, origin=origin))
        return opened[-1]

    yield open_socket
    for opened_socket in opened:
        await opened_socket.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Attach every server's output to the report of a failing test."""
    report = yield
    running = getattr(item, "funcargs", {}).get("cluster")
    if report.failed and isinstance(running, Cluster):
        for server in running.servers:
            report.sections.append((f"daphne {server.name} ({server.log_path})", server.log_text()))
    turn = getattr(item, "funcargs", {}).get("turn_server")
    if report.failed and isinstance(turn, TurnServer):
        report.sections.append((f"turnserver ({turn.log_path})", turn.log_text()[-20_000:]))
    return report
