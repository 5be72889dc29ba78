"""Running database code from async consumers.

Two ways, by cost:

* `db_parallel`: ORM code on the shared thread pool. Most of the WebSocket's database work goes
  this way.
* `async_pool`: a psycopg async connection pool on the event loop itself (the real-time runtime's,
  messenger.realtime, and the history fast path's), for the few statements on the hot paths
  (storing messages in batches: chats.send_batch; reading the stream; history pages), which then
  cost one round trip and no thread hop.
"""

import asyncio
import functools
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import close_old_connections, connections
from psycopg_pool import AsyncConnectionPool


def db_parallel(function):
    """Like database_sync_to_async, but on the shared thread pool instead of one thread.

    Channels' default runs every database call of the process on a single thread, so one slow
    transaction delays every socket's. The hot paths (sending, receipts, stream reads) are
    independent transactions, so they run concurrently, each thread with its own connection;
    ordering that matters is enforced in the database (row locks, the stream-order lock), and a
    socket still awaits its own frames one at a time.
    """
    call = database_sync_to_async(_closing_connections(function), thread_sensitive=False)

    @functools.wraps(function)
    async def run(*args, **kwargs):
        # asgiref copies back into the caller's context every context variable the function set
        # in its thread (Django's connection handler and other asgiref Locals); in a socket's task
        # those copies would live as long as the socket. A task of its own keeps them out, and
        # nothing that code sets is meant for the caller (database connections are per thread).
        return await asyncio.ensure_future(call(*args, **kwargs))

    return run


def _closing_connections(function):
    """`function`, then the thread's obsolete connections closed, inside the same call.

    Channels' clean-up after the call missed the connections that functions called from socket
    tasks had opened (seen with asgiref 3.13.0 and Channels 4.3.2), so they stayed open, checked
    out of Django's pool, until garbage-collected, and were still open when the test database was
    dropped. Closed here, inside the call, they are found.
    """

    @functools.wraps(function)
    def run(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        finally:
            close_old_connections()

    return run


def psycopg_params() -> dict[str, Any]:
    """Connection keywords for psycopg, from Django's settings for the default database."""
    params = connections["default"].get_connection_params()
    for sync_only in ("cursor_factory", "context"):
        params.pop(sync_only, None)
    return params


def async_pool() -> AsyncConnectionPool:
    """A new (unopened) autocommit pool for the running loop."""
    # Unlike Django's connections, these prepare the statements they run often: the history
    # page statement costs more to plan than to run. Behind PgBouncer in transaction mode
    # before 1.21 (no prepared statement support) set DB_PREPARE_THRESHOLD=none.
    return AsyncConnectionPool(
        kwargs={**psycopg_params(), "autocommit": True, "prepare_threshold": settings.DB_PREPARE_THRESHOLD},
        min_size=1,
        max_size=settings.DB_ASYNC_POOL_SIZE,
        open=False,
        name="messenger-hot-path",
    )
