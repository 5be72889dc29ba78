"""Shared fixtures for the whole suite."""

import asyncio
import asyncio.runners
import io
import os
import warnings

import pytest
from channels.layers import channel_layers
from django.conf import settings
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.services import session_create
from accounts.tests.factories import UserFactory

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _cancel_all_tasks_with_deadline(loop: asyncio.AbstractEventLoop) -> None:
    """asyncio.runners._cancel_all_tasks, but a task that ignores its cancellation is reported
    instead of hanging the run.

    Now and then (2 of about 15 PostgreSQL/Redis suite runs on 2026-11-21) an async WebSocket
    test's loop would not close: a cancelled task never finished, and the run sat in asyncio's
    loop teardown until pytest-timeout failed the test. The test's own assertions had passed.
    The task was never caught in the act; the suspect is channels-redis's receive (the hang was
    first seen in test_ticket_works_once, which now uses the in-memory layer). This waits 10 s,
    then warns with the task's stack - visible in the pytest summary, for whoever fixes it - and
    lets the loop close.
    """
    tasks = [task for task in asyncio.all_tasks(loop) if not task.done()]
    if not tasks:
        return
    for task in tasks:
        task.cancel()
    done, pending = loop.run_until_complete(asyncio.wait(tasks, timeout=10))
    for task in pending:
        stack = io.StringIO()
        task.print_stack(file=stack)
        warnings.warn(
            f"task still running 10 s after cancellation at loop close: {task!r}\n{stack.getvalue()}", stacklevel=2
        )
    for task in done:
        if not task.cancelled() and task.exception() is not None:
            loop.call_exception_handler(
                {"message": "unhandled exception during loop teardown", "exception": task.exception(), "task": task}
            )


asyncio.runners._cancel_all_tasks = _cancel_all_tasks_with_deadline

# No Django connection pool inside the test process. With it, the WebSocket tests (each with its
# own event loop, torn down while worker threads may still be in database calls) left pooled
# connections checked out: the pool grew to its maximum with one connection free and then made
# later tests wait for its timeout. The exact path was not pinned down; here every thread opens and
# closes its own connections instead. The server processes of tests/e2e, the benchmark and
# production run with the pool (the bench's 5-minute soak with reconnect churn showed no leak).
settings.DATABASES["default"].get("OPTIONS", {}).pop("pool", None)


def require_service(name: str, url: str) -> None:
    """Skip locally when a real service is not configured; in CI that is a failure, not a skip."""
    if url:
        return
    if IN_CI:
        pytest.fail(f"{name} is required in CI but its URL is not set")
    pytest.skip(f"{name} not configured")


@pytest.fixture(autouse=True)
def _clean_cache():
    # Throttle counters and WebSocket tickets live in the cache; tests must not share them.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _fresh_channel_layer():
    # Each async test runs its own event loop; a channel layer keeps loop-bound state
    # (connections, locks), so every test gets a new one.
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def other_user(db):
    return UserFactory()


def auth_client_for(user, device_name: str = "test") -> tuple[APIClient, object, object]:
    session, pair = session_create(user=user, device_name=device_name)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {pair.access}")
    return client, session, pair


@pytest.fixture
def auth_client(user) -> APIClient:
    client, _, _ = auth_client_for(user)
    return client
