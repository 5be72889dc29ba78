"""Running ORM code from async consumers."""

from channels.db import database_sync_to_async


def db_parallel(function):
    """Like database_sync_to_async, but on the shared thread pool instead of one thread.

    Channels' default runs every database call of the process on a single thread, so one slow
    transaction delays every socket's. The hot paths (sending, receipts, stream reads) are
    independent transactions, so they run concurrently, each thread with its own connection;
    ordering that matters is enforced in the database (row locks, the stream-order lock), and a
    socket still awaits its own frames one at a time.
    """
    return database_sync_to_async(function, thread_sensitive=False)
