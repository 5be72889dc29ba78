"""JWT access and refresh tokens bound to a device session.

Access tokens are short-lived and carry `sub` (user id) and `sid` (session id); the session is
looked up on every request so revocation takes effect at once. Refresh tokens carry `sid` and a
`jti` that must match the session's current `refresh_jti` (rotation with reuse detection).

The tokens are simplejwt's, signed and checked with the key ring of accounts.jwt_keys instead of
simplejwt's one-key backend: new tokens are signed with the ring's signing key and name it in
their `kid` header; a token is checked with the key its `kid` names, with that key's algorithm
only. simplejwt and PyJWT check the rest: `token_type`, `exp`, and `nbf`/`iat` not in the future
(each within `JWT_LEEWAY_SECONDS`, for clock skew between the processes that mint and check).
"""

import functools
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import jwt
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework_simplejwt import tokens as simplejwt_tokens
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.exceptions import TokenBackendError, TokenBackendExpiredToken, TokenError

from accounts import errors
from accounts.jwt_keys import KeyRing, keyring
from messenger.errors import ApplicationError

if TYPE_CHECKING:
    from accounts.models import DeviceSession

# simplejwt requires these too (exp, jti); PyJWT refuses a token that lacks one.
_REQUIRED_CLAIMS = ["exp", "iat", "jti"]


class KeyRingTokenBackend(TokenBackend):
    """simplejwt's token backend over a key ring (see the module docstring)."""

    def __init__(self, ring: KeyRing, *, leeway: timedelta) -> None:
        super().__init__(ring.signing.algorithm, leeway=leeway)
        self.ring = ring

    def encode(self, payload: dict[str, Any]) -> str:
        key = self.ring.signing
        return jwt.encode(payload, key.signing_key, algorithm=key.algorithm, headers={"kid": key.kid})

    def decode(self, token, verify: bool = True) -> dict[str, Any]:
        if not verify:
            return jwt.decode(token, options={"verify_signature": False})
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.InvalidTokenError as exc:
            raise TokenBackendError(_("Token is invalid")) from exc
        keys = self.ring.verifying_keys_for(kid)
        for index, key in enumerate(keys):
            try:
                return jwt.decode(
                    token,
                    key.verifying_key,
                    algorithms=[key.algorithm],
                    leeway=self.get_leeway(),
                    options={"require": _REQUIRED_CLAIMS},
                )
            except jwt.InvalidSignatureError as exc:
                if index == len(keys) - 1:  # only a token without a kid has several keys to try
                    raise TokenBackendError(_("Token is invalid")) from exc
            except jwt.ExpiredSignatureError as exc:
                raise TokenBackendExpiredToken(_("Token is expired")) from exc
            except jwt.InvalidTokenError as exc:
                raise TokenBackendError(_("Token is invalid")) from exc
        raise TokenBackendError(_("Token is invalid"))  # no key of that kid


@functools.lru_cache(maxsize=1)
def _backend_for(ring: KeyRing, leeway_seconds: int) -> KeyRingTokenBackend:
    return KeyRingTokenBackend(ring, leeway=timedelta(seconds=leeway_seconds))


def token_backend() -> KeyRingTokenBackend:
    return _backend_for(keyring(), settings.JWT_LEEWAY_SECONDS)


class _KeyRingTokenMixin:
    @property
    def token_backend(self) -> KeyRingTokenBackend:
        return token_backend()


class AccessToken(_KeyRingTokenMixin, simplejwt_tokens.AccessToken):
    pass


class RefreshToken(_KeyRingTokenMixin, simplejwt_tokens.RefreshToken):
    access_token_class = AccessToken


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


def _uuid_or_none(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


def refresh_token_decode(raw: str) -> tuple[str, str]:
    """Validate signature, type and expiry; return (session_id, jti)."""
    try:
        token = RefreshToken(raw)
    except TokenError as exc:
        raise ApplicationError(
            "The refresh token is invalid or expired.", code=errors.TOKEN_INVALID, status=401
        ) from exc
    session_id, jti = _uuid_or_none(token.get("sid")), token.get("jti")
    if not session_id or not jti or not isinstance(jti, str):
        raise ApplicationError("The refresh token is invalid or expired.", code=errors.TOKEN_INVALID, status=401)
    return session_id, jti


@dataclass(frozen=True)
class AccessClaims:
    user_id: str
    session_id: str
    expires_at: int  # Unix time


def access_token_claims(raw: str) -> AccessClaims:
    """Validate an access token (signature, type, expiry) and return what it says.

    The one check of an access token, for REST (accounts.authentication), the WebSocket
    handshake (accounts.ws_auth) and the history fast path.
    """
    try:
        token = AccessToken(raw)
    except TokenError as exc:
        raise ApplicationError(
            "The access token is invalid or expired.", code=errors.TOKEN_INVALID, status=401
        ) from exc
    user_id, session_id = _uuid_or_none(token.get("sub")), _uuid_or_none(token.get("sid"))
    if not user_id or not session_id:
        raise ApplicationError("The access token is invalid or expired.", code=errors.TOKEN_INVALID, status=401)
    return AccessClaims(user_id=user_id, session_id=session_id, expires_at=int(token["exp"]))
