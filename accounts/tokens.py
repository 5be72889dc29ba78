"""JWT access and refresh tokens bound to a device session.

Access tokens are short-lived and carry `sub` (user id) and `sid` (session id); the session is
looked up on every request so revocation takes effect at once. Refresh tokens carry `sid` and a
`jti` that must match the session's current `refresh_jti` (rotation with reuse detection).
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from accounts import errors
from messenger.errors import ApplicationError

if TYPE_CHECKING:
    from accounts.models import DeviceSession


@dataclass(frozen=True)
class TokenPair:
    access: str
    refresh: str


def token_pair_issue(*, session: "DeviceSession") -> TokenPair:
    """Mint an access token and a refresh token whose jti is the session's current one."""
    access = AccessToken()
    access["sub"] = str(session.user_id)
    access["sid"] = str(session.id)
    refresh = RefreshToken()
    refresh["sub"] = str(session.user_id)
    refresh["sid"] = str(session.id)
    refresh["jti"] = session.refresh_jti
    return TokenPair(access=str(access), refresh=str(refresh))


def refresh_token_decode(raw: str) -> tuple[str, str]:
    """Validate signature, type and expiry; return (session_id, jti)."""
    try:
        token = RefreshToken(raw)
    except TokenError as exc:
        raise ApplicationError(
            "The refresh token is invalid or expired.", code=errors.TOKEN_INVALID, status=401
        ) from exc
    session_id, jti = token.get("sid"), token.get("jti")
    if not session_id or not jti:
        raise ApplicationError("The refresh token is invalid or expired.", code=errors.TOKEN_INVALID, status=401)
    return str(session_id), str(jti)


@dataclass(frozen=True)
class AccessClaims:
    user_id: str
    session_id: str
    expires_at: int  # Unix time


def access_token_claims(raw: str) -> AccessClaims:
    """Validate an access token (signature, type, expiry) and return what it says."""
    try:
        token = AccessToken(raw)
    except TokenError as exc:
        raise ApplicationError(
            "The access token is invalid or expired.", code=errors.TOKEN_INVALID, status=401
        ) from exc
    user_id, session_id = token.get("sub"), token.get("sid")
    if not user_id or not session_id:
        raise ApplicationError("The access token is invalid or expired.", code=errors.TOKEN_INVALID, status=401)
    return AccessClaims(user_id=str(user_id), session_id=str(session_id), expires_at=int(token["exp"]))


def access_token_decode(raw: str) -> tuple[str, str]:
    """Validate an access token; return (user_id, session_id). Used by the WebSocket handshake."""
    claims = access_token_claims(raw)
    return claims.user_id, claims.session_id
