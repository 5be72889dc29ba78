"""Fixtures shared by the chats tests."""

import pytest

from accounts.tests.factories import UserFactory
from chats.tests.ws import close_all


@pytest.fixture
async def ws_cleanup():
    """Disconnect every socket a WebSocket test opened, even when it failed half-way."""
    yield
    await close_all()


@pytest.fixture
def alice(db):
    return UserFactory(username="alice")


@pytest.fixture
def bob(db):
    return UserFactory(username="bob")


@pytest.fixture
def carol(db):
    return UserFactory(username="carol")
