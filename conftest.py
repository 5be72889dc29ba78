"""Shared fixtures for the whole suite."""

import os

import pytest
from channels.layers import channel_layers
from django.conf import settings
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.services import session_create
from accounts.tests.factories import UserFactory

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

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
