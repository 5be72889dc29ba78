"""JWT authentication that checks the device session on every request."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework_simplejwt.authentication import JWTAuthentication

from accounts import errors
from accounts.selectors import session_get_active
from accounts.services import session_touch


class SessionJWTAuthentication(JWTAuthentication):
    """`Authorization: Bearer <access>`; `request.auth` is the caller's DeviceSession.

    The access token is only valid while its session is: logging out or revoking a session
    makes its tokens fail on the next request, not when they expire.
    """

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None:
            return None
        validated_token = result[1]
        session = session_get_active(session_id=validated_token.get("sid"))
        if session is None or str(session.user_id) != str(validated_token.get("sub")):
            raise exceptions.AuthenticationFailed("This session has ended.", code=errors.SESSION_REVOKED)
        session_touch(session=session)
        return session.user, session

    def get_user(self, validated_token):
        # The user is loaded together with the session in authenticate(); skip simplejwt's query.
        return None


class SessionJWTAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = SessionJWTAuthentication
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
