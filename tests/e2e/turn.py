"""A real coturn for the end-to-end tests: `turnserver` on loopback with a shared secret.

It runs in the TURN REST mode the product mints credentials for (`--use-auth-secret`), listens on
a free port of 127.0.0.1 only and relays only between loopback addresses, with no TLS, DTLS or
CLI; its SQLite file and log live in a temporary folder. `.ci/run` installs coturn (Debian package
`coturn`).
"""

import random
import secrets
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

START_TIMEOUT_SECONDS = 10.0
RELAY_PORTS = 200  # the range of relay ports one server may allocate


def _free_udp_and_tcp_port() -> int:
    while True:
        with socket.socket() as tcp:
            tcp.bind(("127.0.0.1", 0))
            port = tcp.getsockname()[1]
            with socket.socket(type=socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port


@dataclass
class TurnServer:
    port: int
    secret: str
    realm: str
    log_path: Path
    process: subprocess.Popen

    @property
    def turn_url(self) -> str:
        return f"turn:127.0.0.1:{self.port}?transport=udp"

    @property
    def stun_url(self) -> str:
        return f"stun:127.0.0.1:{self.port}"

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else "(no output)"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def start_turn_server(folder: Path) -> TurnServer:
    binary = shutil.which("turnserver")
    if binary is None:
        pytest.fail("coturn's turnserver is not installed (apt-get install coturn; .ci/run does)")
    port = _free_udp_and_tcp_port()
    lowest = random.randrange(20_000, 60_000 - RELAY_PORTS)
    secret, realm = secrets.token_urlsafe(24), "messenger.test"
    log_path = folder / "turnserver.log"
    command = [
        binary,
        "-n",  # no configuration file: everything is on this line
        f"--listening-port={port}",
        "--listening-ip=127.0.0.1",
        "--relay-ip=127.0.0.1",
        f"--min-port={lowest}",
        f"--max-port={lowest + RELAY_PORTS - 1}",
        "--use-auth-secret",
        f"--static-auth-secret={secret}",
        f"--realm={realm}",
        "--allow-loopback-peers",
        "--no-tls",
        "--no-dtls",
        "--no-cli",
        f"--userdb={folder / 'turndb'}",
        f"--pidfile={folder / 'turnserver.pid'}",
        "--log-file=stdout",
        "--simple-log",
        "--verbose",
    ]
    with log_path.open("w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    server = TurnServer(port=port, secret=secret, realm=realm, log_path=log_path, process=process)
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while True:
        if process.poll() is not None:
            pytest.fail(f"turnserver exited with {process.returncode}:\n{server.log_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return server
        except OSError:
            if time.monotonic() > deadline:
                server.stop()
                pytest.fail(f"turnserver did not listen on {port} within {START_TIMEOUT_SECONDS} s")
            time.sleep(0.1)
