"""JWT authentication that checks the device session on every request."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework_simplejwt.authentication import JWTAuthentication

from accounts import errors
from accounts.selectors import session_get_active
from accounts.services import session_touch
from accounts.tokens import access_token_claims
from messenger.errors import ApplicationError


class SessionJWTAuthentication(JWTAuthentication):
    """`Authorization: Bearer <access>`; `request.auth` is the caller's DeviceSession.

    The access token is only valid while its session is: logging out or revoking a session
    makes its tokens fail on the next request, not when they expire. simplejwt finds the token
    in the header; accounts.tokens.access_token_claims checks it, as for the WebSocket handshake.
    """

    def authenticate(self, request):
        header = self.get_header(request)
        if header is None:
            return None
        raw_token = self.get_raw_token(header)
        if raw_token is None:
            return None
        try:
            claims = access_token_claims(raw_token.decode("latin1"))
        except ApplicationError as error:
            raise exceptions.AuthenticationFailed(error.message, code=error.code) from error
        session = session_get_active(session_id=claims.session_id)
        if session is None or str(session.user_id) != claims.user_id:
            raise exceptions.AuthenticationFailed("This session has ended.", code=errors.SESSION_REVOKED)
        session_touch(session=session)
        return session.user, session

    def get_raw_token(self, header: bytes) -> bytes | None:
        # Exactly `Bearer`, as simplejwt and the history fast path read it.
        parts = header.split()
        if not parts or parts[0] != b"Bearer":
            return None  # another scheme: no credentials of ours
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(
                "The Authorization header must be `Bearer <access token>`.", code=errors.TOKEN_INVALID
            )
        return parts[1]


class SessionJWTAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = SessionJWTAuthentication
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
