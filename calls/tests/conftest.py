"""Fixtures of the calls tests: the chats tests' users and socket clean-up, and a fourth user."""

import pytest

from accounts.tests.factories import UserFactory
from chats.tests.conftest import alice, bob, carol, ws_cleanup

__all__ = ["alice", "bob", "carol", "dave", "ws_cleanup"]


@pytest.fixture
def dave(db):
    return UserFactory(username="dave")
