"""The active-session check of a request, for a hot path that makes it inside its own SQL statement.

chats.history_fast answers history pages in one statement outside Django; the authentication it
does is this module's: the access token's claims (signature checked once per token), the SQL form
of accounts.selectors.session_get_active, and the rule for writing last_used_at that session_touch
follows too. Change the SQL and the selector together: accounts/tests/test_session_check.py holds
the two to the same answers.
"""

import functools
import time
from datetime import datetime, timedelta

from accounts.models import DeviceSession, User
from accounts.tokens import AccessClaims, access_token_claims
from messenger.errors import ApplicationError

# A session's last_used_at is written at most this often (it is read on every request).
LAST_USED_WRITE_INTERVAL = timedelta(seconds=60)

# last_used_at of the active session %(session)s of user %(user)s; no row if there is none.
ACTIVE_SESSION_SQL = (
    f"SELECT s.last_used_at FROM {DeviceSession._meta.db_table} s "  # noqa: S608 - table names; values are parameters
    f"JOIN {User._meta.db_table} u ON u.id = s.user_id "
    "WHERE s.id = %(session)s AND s.user_id = %(user)s AND s.revoked_at IS NULL AND u.is_active"
)
TOUCH_SQL = f"UPDATE {DeviceSession._meta.db_table} SET last_used_at = %(now)s WHERE id = %(session)s"  # noqa: S608


@functools.lru_cache(maxsize=4096)
def _claims(bearer: str) -> AccessClaims | None:
    try:
        return access_token_claims(bearer)
    except ApplicationError:
        return None


def bearer_claims(bearer: str) -> AccessClaims | None:
    """The claims of a valid, unexpired access token, else None.

    A token's claims never change, so its signature is checked once (the largest cost of a history
    page after its query); expiry is checked on every use.
    """
    claims = _claims(bearer)
    if claims is None or claims.expires_at <= _now():
        return None
    return claims


_now = time.time


def touch_due(last_used_at: datetime, now: datetime) -> bool:
    """Whether a request at `now` records its use of the session (session_touch: once a minute)."""
    return now - last_used_at >= LAST_USED_WRITE_INTERVAL
