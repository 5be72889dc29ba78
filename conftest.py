"""Shared fixtures for the whole suite."""

import asyncio
import io

import pytest
from channels.layers import channel_layers
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.services import session_create
from accounts.tests.factories import UserFactory

# How long an async test's leftover tasks get to finish once cancelled, at its end.
TASK_CANCEL_DEADLINE_SECONDS = 10


def pytest_collection_modifyitems(items) -> None:
    for item in items:
        if item.get_closest_marker("asyncio") is not None:
            item.add_marker(pytest.mark.usefixtures("_tasks_finished"))


@pytest.fixture
async def _tasks_finished():
    """At the end of an async test, every task it left is cancelled and must finish.

    Sockets a test closes stop their runtime, which cancels and waits for its loops; whatever is
    still running here (a test that left a socket open, a task that ignores its cancellation) is
    cancelled now, and a task still running after TASK_CANCEL_DEADLINE_SECONDS fails the test with
    its stack, instead of hanging the event loop's close.
    """
    yield
    this = asyncio.current_task()
    left = [task for task in asyncio.all_tasks() if task is not this and not task.done()]
    for task in left:
        task.cancel()
    if not left:
        return
    _, pending = await asyncio.wait(left, timeout=TASK_CANCEL_DEADLINE_SECONDS)
    if pending:
        stacks = io.StringIO()
        for task in pending:
            task.print_stack(file=stacks)
        pytest.fail(f"tasks still running {TASK_CANCEL_DEADLINE_SECONDS} s after cancellation:\n{stacks.getvalue()}")


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
