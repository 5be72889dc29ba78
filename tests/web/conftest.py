"""A real daphne server for the browser tests in this folder.

pytest-django's `live_server` speaks only HTTP, so each test starts `daphne` on a free port,
pointed at this run's test database with `transaction=True`, so the rows the test creates are
committed and visible to the server.
"""

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from tests.servers import free_port, server_database_url

ROOT = Path(settings.BASE_DIR)
LOGS = ROOT / "var" / "web-e2e"
STARTUP_TIMEOUT_SECONDS = 30.0
# Direct-to-loopback requests: a proxy from the environment must not see them.
_LOCAL_HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@pytest.fixture
def server(request, transactional_db) -> Iterator[str]:
    """A daphne process serving messenger.asgi on a free port; yields its base URL."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    tag = uuid.uuid4().hex[:8]
    env = {
        **os.environ,
        "DATABASE_URL": server_database_url(),
        "DJANGO_SETTINGS_MODULE": "messenger.settings",
        # The page's own origin is not listed: outside production the server accepts it anyway,
        # so the web client works on any port without configuration (as with `PORT=… scripts/serve`).
        "DJANGO_ENV": "development",
        "DJANGO_ALLOWED_ORIGINS": "https://elsewhere.example",
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
            # As scripts/serve runs it: daphne with the project's limits and speed-ups.
            [
                sys.executable,
                "-m",
                "messenger.server",
                "-b",
                "127.0.0.1",
                "-p",
                str(port),
                "messenger.asgi:application",
            ],
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
