"""Helpers for tests that interleave transactions: see who waits on a lock, and wait for it."""

import threading
import time

import psycopg
from django.db import connection

from messenger.db import psycopg_params
from messenger.errors import ApplicationError


def lock_waits() -> int:
    """How many lock requests are waiting right now, across every connection."""
    with psycopg.connect(**psycopg_params(), autocommit=True) as observer:
        return observer.execute("SELECT count(*) FROM pg_locks WHERE NOT granted").fetchone()[0]


def wait_until(condition, attempts: int = 200) -> None:
    for _ in range(attempts):
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError("the condition never held")


def race_behind_chat_rows(chat_ids, calls) -> list:
    """Run `calls` at once: each in a thread, all held up by a rival transaction that locks the
    chats' rows until every one of them waits for a lock, then released together.

    Returns what each call returned, or the code of the ApplicationError it raised, in order.
    """
    outcomes: list = [None] * len(calls)

    def run(index: int, call) -> None:
        try:
            outcomes[index] = call()
        except ApplicationError as error:
            outcomes[index] = error.code
        finally:
            connection.close()

    with psycopg.connect(**psycopg_params()) as rival:
        rival.execute("SELECT 1 FROM chats_chat WHERE id = ANY(%s) FOR UPDATE", [list(chat_ids)])
        threads = [threading.Thread(target=run, args=(index, call)) for index, call in enumerate(calls)]
        for thread in threads:
            thread.start()
        wait_until(lambda: lock_waits() >= len(calls))
        rival.rollback()
        for thread in threads:
            thread.join(10)
    return outcomes
