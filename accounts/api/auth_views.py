"""Sign-up, log-in (password and phone code), token refresh, log-out and WebSocket tickets."""

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import services
from accounts.api import serializers as s
from accounts.models import DeviceSession, User
from accounts.throttles import (
    LoginThrottle,
    OtpRequestIpThrottle,
    OtpRequestPhoneThrottle,
    OtpVerifyThrottle,
    RefreshThrottle,
    RegisterThrottle,
)
from accounts.tokens import TokenPair
from messenger.api.schema import AUTH_ERRORS, errors

THROTTLED = errors(e429="throttled")


def _client_meta(request: Request) -> dict[str, str | None]:
    return {
        "ip_address": request.META.get("REMOTE_ADDR") or None,
        "user_agent": request.META.get("HTTP_USER_AGENT", ""),
    }


def _auth_result(user: User, session: DeviceSession, pair: TokenPair, *, http_status: int) -> Response:
    body = {
        "user": s.MeSerializer(user).data,
        "session_id": str(session.id),
        "access": pair.access,
        "refresh": pair.refresh,
    }
    return Response(body, status=http_status)


class PublicAPIView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]


@extend_schema(tags=["auth"])
class RegisterView(PublicAPIView):
    throttle_classes = [RegisterThrottle]

    @extend_schema(
        request=s.RegisterSerializer,
        responses={
            201: s.AuthResultSerializer,
            **errors(e400="validation_error, username_taken, phone_taken, email_taken, password_invalid"),
            **THROTTLED,
        },
        summary="Create an account with a password and log in",
    )
    def post(self, request: Request) -> Response:
        serializer = s.RegisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.user_register(**serializer.validated_data)
        session, pair = services.session_create(user=user, device_name="", **_client_meta(request))
        return _auth_result(user, session, pair, http_status=status.HTTP_201_CREATED)


@extend_schema(tags=["auth"])
class LoginView(PublicAPIView):
    throttle_classes = [LoginThrottle]

    @extend_schema(
        request=s.LoginSerializer,
        responses={
            200: s.AuthResultSerializer,
            **errors(e400="validation_error", e401="invalid_credentials"),
            **THROTTLED,
        },
        summary="Log in with username, phone or email and a password",
    )
    def post(self, request: Request) -> Response:
        serializer = s.LoginSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user, session, pair = services.auth_login(**serializer.validated_data, **_client_meta(request))
        return _auth_result(user, session, pair, http_status=status.HTTP_200_OK)


@extend_schema(tags=["auth"])
class OtpRequestView(PublicAPIView):
    throttle_classes = [OtpRequestIpThrottle, OtpRequestPhoneThrottle]

    @extend_schema(
        request=s.OtpRequestSerializer,
        responses={
            202: s.OtpRequestResponseSerializer,
            **errors(e400="validation_error (details.phone: invalid_phone)", e429="throttled, otp_cooldown"),
        },
        summary="Send a 6-digit login code by SMS",
    )
    def post(self, request: Request) -> Response:
        serializer = s.OtpRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.otp_request(phone=serializer.validated_data["phone"], ip_address=_client_meta(request)["ip_address"])
        body = {"expires_in": settings.OTP_TTL_SECONDS, "resend_after": settings.OTP_RESEND_COOLDOWN_SECONDS}
        return Response(body, status=status.HTTP_202_ACCEPTED)


@extend_schema(tags=["auth"])
class OtpVerifyView(PublicAPIView):
    throttle_classes = [OtpVerifyThrottle]

    @extend_schema(
        request=s.OtpVerifySerializer,
        responses={
            200: s.AuthResultSerializer,
            201: s.AuthResultSerializer,
            **errors(e400="validation_error, otp_invalid, otp_expired, otp_attempts_exceeded"),
            **THROTTLED,
        },
        summary="Check a login code; logs in, creating the account on first verify (201)",
    )
    def post(self, request: Request) -> Response:
        serializer = s.OtpVerifySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user, session, pair, created = services.otp_verify(**serializer.validated_data, **_client_meta(request))
        return _auth_result(user, session, pair, http_status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


@extend_schema(tags=["auth"])
class RefreshView(PublicAPIView):
    throttle_classes = [RefreshThrottle]

    @extend_schema(
        request=s.RefreshSerializer,
        responses={
            200: s.TokenPairSerializer,
            **errors(
                e400="validation_error",
                e401="token_not_valid, session_revoked, refresh_token_reused, refresh_token_superseded",
            ),
            **THROTTLED,
        },
        summary="Rotate a refresh token into a new token pair",
    )
    def post(self, request: Request) -> Response:
        serializer = s.RefreshSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        pair = services.session_refresh(refresh=serializer.validated_data["refresh"])
        return Response({"access": pair.access, "refresh": pair.refresh})


@extend_schema(tags=["auth"])
class LogoutView(APIView):
    @extend_schema(request=None, responses={204: None, **AUTH_ERRORS}, summary="End the current session")
    def post(self, request: Request) -> Response:
        services.session_revoke(session=request.auth, reason="logout")
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["auth"])
class WsTicketView(APIView):
    @extend_schema(
        request=None,
        responses={200: s.WsTicketSerializer, **AUTH_ERRORS},
        summary="Get a one-use, 30-second ticket for the WebSocket handshake",
    )
    def post(self, request: Request) -> Response:
        ticket = services.ws_ticket_issue(session=request.auth)
        return Response({"ticket": ticket, "expires_in": settings.WS_TICKET_TTL_SECONDS})
