"""Run daphne on uvloop: `python -m messenger.server [daphne's options] messenger.asgi:application`.

Daphne creates its event loop when `daphne.server` is imported; setting uvloop's policy first
makes that loop a uvloop one (Twisted's asyncio reactor only needs add_reader/add_writer, which
uvloop has). The options are daphne's own. Set ASGI_LOOP=asyncio to run on the standard loop.
"""

import asyncio
import os


def main() -> None:
    if os.environ.get("ASGI_LOOP", "uvloop") == "uvloop":
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    from daphne.cli import CommandLineInterface  # imports daphne.server: after the policy

    CommandLineInterface.entrypoint()


if __name__ == "__main__":
    main()
