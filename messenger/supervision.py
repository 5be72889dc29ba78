"""One way for a background loop to survive its errors: every loop of the runtime runs through here."""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

logger = logging.getLogger(__name__)

# After a failure, a supervised loop waits this long before it runs again.
RETRY_DELAY_SECONDS = 1.0


async def supervised(name: str, run: Callable[[], Awaitable[Any]], *, is_current: Callable[[], bool]) -> None:
    """Run `run` again and again while `is_current()`; an error is logged and it runs again a second later.

    `run` returning normally also starts it again (a LISTEN connection that closed, say), at once;
    cancellation ends it. `is_current` is checked before every run, so a loop of a stopped runtime
    exits even if its cancellation got lost.
    """
    while is_current():
        try:
            await run()
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("%s failed; running it again in %.0f s", name, RETRY_DELAY_SECONDS)
            await asyncio.sleep(RETRY_DELAY_SECONDS)
