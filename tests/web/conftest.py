"""A real daphne server for the browser tests in this folder.

pytest-django's `live_server` speaks only HTTP, so each test starts `daphne` on a free port,
pointed at this run's test database (SQLite file or PostgreSQL) with `transaction=True`, so the
rows the test creates are committed and visible to the server.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(settings.BASE_DIR)
LOGS = ROOT / "var" / "web-e2e"
STARTUP_TIMEOUT_SECONDS = 30.0
# Direct-to-loopback requests: a proxy from the environment must not see them.
_LOCAL_HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _database_env() -> dict[str, str]:
    """This run's test database (pytest-django has renamed it by now), in the server's settings variables."""
    database = connection.settings_dict
    if connection.vendor == "sqlite":
        # An empty DATABASE_URL selects SQLite; an absolute SQLITE_PATH is used as it is.
        return {"DATABASE_URL": "", "SQLITE_PATH": str(database["NAME"])}
    assert connection.vendor == "postgresql", f"no server set-up for {connection.vendor}"
    userinfo = quote(database.get("USER") or "", safe="")
    if database.get("PASSWORD"):
        userinfo += ":" + quote(database["PASSWORD"], safe="")
    host = quote(database.get("HOST") or "localhost", safe="")
    netloc = f"{userinfo}@{host}" if userinfo else host
    return {"DATABASE_URL": f"postgres://{netloc}:{database.get('PORT') or 5432}/{quote(database['NAME'], safe='')}"}


@pytest.fixture
def server(request, transactional_db) -> Iterator[str]:
    """A daphne process serving messenger.asgi on a free port; yields its base URL."""
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    tag = uuid.uuid4().hex[:8]
    env = {
        **os.environ,
        **_database_env(),
        "DJANGO_SETTINGS_MODULE": "messenger.settings",
        "DJANGO_ALLOWED_ORIGINS": base_url,
        # With DEBUG on, WhiteNoise serves static/ directly: no collectstatic step needed.
        "DJANGO_DEBUG": "true",
        "CHANNEL_LAYER_PREFIX": f"web-e2e-{tag}",
        "CACHE_KEY_PREFIX": f"web-e2e-{tag}",
        "PYTHONUNBUFFERED": "1",
    }
    LOGS.mkdir(parents=True, exist_ok=True)
    log_path = LOGS / f"{request.node.name}.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "messenger.asgi:application"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_healthy(process, base_url, log_path)
        yield base_url
    finally:
        # Stopped before the database flush: this fixture depends on transactional_db.
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)


def _wait_healthy(process: subprocess.Popen, base_url: str, log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while True:
        if process.poll() is not None:
            pytest.fail(f"daphne exited with {process.returncode}:\n{log_path.read_text(errors='replace')}")
        try:
            with _LOCAL_HTTP.open(f"{base_url}/healthz", timeout=1) as response:
                if response.status == 200:
                    return
        except (OSError, urllib.error.URLError):
            pass  # not listening yet
        if time.monotonic() > deadline:
            pytest.fail(f"daphne did not answer /healthz in {STARTUP_TIMEOUT_SECONDS} s:\n{log_path.read_text()}")
        time.sleep(0.1)
