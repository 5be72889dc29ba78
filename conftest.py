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

# No Django connection pool inside the test process: every async test runs and closes its own
# event loop, and a worker thread still inside a database call when its loop is torn down never
# hands its pooled connection back, so the pool ran dry a few dozen WebSocket tests in. Here
# every thread opens and closes its own connections. The server processes of tests/e2e, like
# production, run with the pool.
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
