"""Helpers for tests that interleave transactions: see who waits on a lock, and wait for it."""

import time

import psycopg

from messenger.db import psycopg_params


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
