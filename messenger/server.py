"""Run daphne on uvloop: `python -m messenger.server [daphne's options] messenger.asgi:application`.

Daphne creates its event loop when `daphne.server` is imported; setting uvloop's policy first
makes that loop a uvloop one (Twisted's asyncio reactor only needs add_reader/add_writer, which
uvloop has). The options are daphne's own; the server is daphne's, with cheaper sweeps and
writes (messenger/daphne_speedups.py). Set ASGI_LOOP=asyncio to run on the
standard loop.

Daphne pings a WebSocket that has been idle for `--ping-interval` seconds (its default: 20); with
tens of thousands of idle sockets those pings are most of an idle server's work. Unless the option
is given it is WS_PING_INTERVAL_SECONDS (default 30: below the usual 60 s idle timeouts of proxies
and NATs; deploy/nginx.conf allows an hour).
"""

import asyncio
import os
import sys
from pathlib import Path

from dotenv import load_dotenv


def main() -> None:
    load_dotenv(Path(__file__).resolve().parent.parent / ".env")  # as messenger.settings does
    if os.environ.get("ASGI_LOOP", "uvloop") == "uvloop":
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    if not any(arg.startswith("--ping-interval") for arg in sys.argv):
        sys.argv[1:1] = ["--ping-interval", os.environ.get("WS_PING_INTERVAL_SECONDS", "30")]
    from messenger.daphne_speedups import MessengerCommandLineInterface  # imports daphne.server: after the policy

    MessengerCommandLineInterface.entrypoint()


if __name__ == "__main__":
    main()
