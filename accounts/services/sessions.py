"""Device sessions: login, refresh-token rotation with reuse detection, revocation."""

import uuid
from datetime import timedelta
from functools import cache

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts import errors, events
from accounts.models import DeviceSession, User
from accounts.phones import phone_normalize_or_none
from accounts.session_check import touch_due
from accounts.tokens import TokenPair, refresh_token_decode, token_pair_issue
from messenger.errors import ApplicationError


@cache
def _dummy_password_hash() -> str:
    return make_password(uuid.uuid4().hex)


def _invalid_credentials() -> ApplicationError:
    return ApplicationError("The identifier or password is wrong.", code=errors.INVALID_CREDENTIALS, status=401)


def _user_find_by_identifier(identifier: str) -> User | None:
    identifier = identifier.strip()
    lookup = Q(username__iexact=identifier)
    if "@" in identifier:
        lookup |= Q(email__iexact=identifier)
    phone = phone_normalize_or_none(identifier) if identifier.startswith("+") else None
    if phone:
        lookup |= Q(phone=phone)
    return User.objects.filter(lookup).first()


def auth_login(
    *, identifier: str, password: str, device_name: str = "", ip_address: str | None = None, user_agent: str = ""
) -> tuple[User, DeviceSession, TokenPair]:
    """Check a password login and open a device session."""
    user = _user_find_by_identifier(identifier)
    if user is None:
        # Hash anyway so a failed login takes as long whether or not the account exists.
        check_password(password, _dummy_password_hash())
        raise _invalid_credentials()
    if not user.check_password(password) or not user.is_active:
        raise _invalid_credentials()
    session, pair = session_create(user=user, device_name=device_name, ip_address=ip_address, user_agent=user_agent)
    return user, session, pair


def session_create(
    *, user: User, device_name: str = "", ip_address: str | None = None, user_agent: str = ""
) -> tuple[DeviceSession, TokenPair]:
    """Open a device session for `user` and mint its first token pair."""
    session = DeviceSession.objects.create(
        user=user,
        device_name=device_name[:100],
        ip_address=ip_address,
        user_agent=user_agent[:255],
        refresh_jti=uuid.uuid4().hex,
    )
    return session, token_pair_issue(session=session)


def session_refresh(*, refresh: str) -> TokenPair:
    """Exchange a refresh token for a new pair; the old refresh token stops working.

    The session row is locked, so two concurrent refreshes with one token serialise: the first
    rotates, the second sees a superseded jti. Presenting a rotated token after the grace
    window is reuse (RFC 9700 4.14.2): the whole session is revoked.
    """
    session_id, jti = refresh_token_decode(refresh)
    revoked = False
    with transaction.atomic():
        session = DeviceSession.objects.select_for_update().filter(id=session_id).first()
        if session is None or not session.is_active or not session.user.is_active:
            raise ApplicationError("This session has ended.", code=errors.SESSION_REVOKED, status=401)
        now = timezone.now()
        if jti != session.refresh_jti:
            grace = timedelta(seconds=settings.REFRESH_REUSE_GRACE_SECONDS)
            if jti == session.previous_refresh_jti and session.rotated_at and now - session.rotated_at <= grace:
                raise ApplicationError(
                    "This refresh token was just rotated by a concurrent request; use the newer pair.",
                    code=errors.REFRESH_TOKEN_SUPERSEDED,
                    status=401,
                )
            _session_mark_revoked(session, reason="refresh_reuse", now=now)
            revoked = True
        else:
            session.previous_refresh_jti = session.refresh_jti
            session.refresh_jti = uuid.uuid4().hex
            session.rotated_at = now
            session.last_used_at = now
            session.save(update_fields=["previous_refresh_jti", "refresh_jti", "rotated_at", "last_used_at"])
            return token_pair_issue(session=session)
    # Raised outside the atomic block so the revocation is committed.
    assert revoked
    raise ApplicationError(
        "This refresh token was already used; the session has been ended for safety.",
        code=errors.REFRESH_TOKEN_REUSED,
        status=401,
    )


def _session_mark_revoked(session: DeviceSession, *, reason: str, now=None) -> None:
    session.revoked_at = now or timezone.now()
    session.revoked_reason = reason
    session.save(update_fields=["revoked_at", "revoked_reason"])
    events.session_revoked_broadcast_on_commit(session_id=session.id)


def session_revoke(*, session: DeviceSession, reason: str = "logout") -> None:
    """End a session: its tokens stop working at once and its live sockets are closed."""
    with transaction.atomic():
        locked = DeviceSession.objects.select_for_update().get(pk=session.pk)
        if locked.is_active:
            _session_mark_revoked(locked, reason=reason)


def session_touch(*, session: DeviceSession) -> None:
    """Record use of a session, at most once a minute (this runs on every request)."""
    now = timezone.now()
    if touch_due(session.last_used_at, now):
        DeviceSession.objects.filter(pk=session.pk).update(last_used_at=now)
        session.last_used_at = now
