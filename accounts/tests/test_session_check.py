"""accounts.session_check: its SQL answers what session_get_active answers, and its claims check
accepts what access_token_claims accepts, expiry included."""

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from accounts import session_check
from accounts.models import DeviceSession, User
from accounts.selectors import session_get_active
from accounts.services import session_create, session_revoke
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _sql_says_active(session_id, user_id) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            session_check.ACTIVE_SESSION_SQL.replace("%(session)s", "%s").replace("%(user)s", "%s"),
            [
                session_id,
                user_id,
            ],
        )
        return cursor.fetchone() is not None


def _selector_says_active(session_id, user_id) -> bool:
    session = session_get_active(session_id=session_id)
    return session is not None and str(session.user_id) == str(user_id)


def _cases():
    alice, bob = UserFactory(), UserFactory()
    active, _ = session_create(user=alice)
    revoked, _ = session_create(user=alice)
    session_revoke(session=revoked)
    gone, _ = session_create(user=bob)
    User.objects.filter(pk=bob.pk).update(is_active=False)
    return {
        "active": (active.pk, alice.pk, True),
        "revoked": (revoked.pk, alice.pk, False),
        "user deactivated": (gone.pk, bob.pk, False),
        "another user's session": (active.pk, bob.pk, False),
        "no such session": (uuid.uuid4(), alice.pk, False),
    }


def test_the_sql_and_the_selector_agree():
    for name, (session_id, user_id, expected) in _cases().items():
        assert _sql_says_active(session_id, user_id) == _selector_says_active(session_id, user_id) == expected, name


def test_last_used_at_is_written_at_most_once_a_minute():
    now = timezone.now()
    assert not session_check.touch_due(now - timedelta(seconds=59), now)
    assert session_check.touch_due(now - timedelta(seconds=60), now)


def test_claims_are_those_of_a_valid_unexpired_access_token(user, monkeypatch):
    session, pair = session_create(user=user)
    claims = session_check.bearer_claims(pair.access)
    assert (claims.user_id, claims.session_id) == (str(user.pk), str(session.pk))
    assert session_check.bearer_claims(pair.refresh) is None  # not an access token
    assert session_check.bearer_claims(pair.access + "x") is None
    monkeypatch.setattr(session_check, "_now", lambda: claims.expires_at)
    assert session_check.bearer_claims(pair.access) is None  # expired since it was first checked
    assert DeviceSession.objects.filter(pk=session.pk).exists()
