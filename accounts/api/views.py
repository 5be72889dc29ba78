"""Accounts REST endpoints. Thin: parse, call a service or selector, shape the answer."""

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors, services
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
from messenger.api.pagination import DefaultCursorPagination
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


@extend_schema(tags=["auth"])
class SessionListView(APIView):
    @extend_schema(
        responses={200: s.DeviceSessionSerializer(many=True), **AUTH_ERRORS},
        summary="List the caller's active device sessions",
    )
    def get(self, request: Request) -> Response:
        sessions = selectors.session_list(user=request.user)
        data = s.DeviceSessionSerializer(sessions, many=True, context={"current_session_id": request.auth.pk}).data
        return Response(data)


@extend_schema(tags=["auth"])
class SessionDetailView(APIView):
    @extend_schema(
        responses={204: None, **AUTH_ERRORS, **errors(e404="not_found")},
        summary="End one of the caller's sessions (closes its live sockets)",
    )
    def delete(self, request: Request, session_id) -> Response:
        session = selectors.session_get(user=request.user, session_id=session_id)
        services.session_revoke(session=session, reason="revoked")
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["users"])
class MeView(APIView):
    @extend_schema(responses={200: s.MeSerializer, **AUTH_ERRORS}, summary="The caller's profile")
    def get(self, request: Request) -> Response:
        return Response(s.MeSerializer(request.user).data)

    @extend_schema(
        request=s.MeSerializer,
        responses={
            200: s.MeSerializer,
            **AUTH_ERRORS,
            **errors(e400="validation_error, username_taken, email_taken, invalid_avatar"),
        },
        summary="Edit the caller's profile",
    )
    def patch(self, request: Request) -> Response:
        serializer = s.MeSerializer(request.user, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        user = services.user_update(user=request.user, **serializer.validated_data)
        return Response(s.MeSerializer(user).data)


@extend_schema(tags=["users"])
class UserDetailView(APIView):
    @extend_schema(
        responses={200: s.UserSerializer, **AUTH_ERRORS, **errors(e404="not_found")}, summary="A user's public profile"
    )
    def get(self, request: Request, user_id) -> Response:
        return Response(s.UserSerializer(selectors.user_get(user_id=user_id)).data)


class UsernamePagination(DefaultCursorPagination):
    ordering = "username"


@extend_schema(tags=["users"])
class UserSearchView(ListAPIView):
    serializer_class = s.UserSerializer
    pagination_class = UsernamePagination

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "q", str, required=True, description="Part of a username or display name, or an exact phone."
            )
        ],
        responses={200: s.UserSerializer(many=True), **AUTH_ERRORS},
        summary="Search users",
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        return selectors.user_search(query=self.request.query_params.get("q", ""), viewer=self.request.user)


@extend_schema(tags=["contacts"])
class ContactListView(ListAPIView):
    serializer_class = s.ContactSerializer

    def get_queryset(self):
        return selectors.contact_list(owner=self.request.user)

    @extend_schema(responses={200: s.ContactSerializer(many=True), **AUTH_ERRORS}, summary="List contacts")
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=s.ContactCreateSerializer,
        responses={
            201: s.ContactSerializer,
            200: s.ContactSerializer,
            **AUTH_ERRORS,
            **errors(e400="validation_error, cannot_target_self", e404="not_found"),
        },
        summary="Add a contact by user id or phone (200 if already a contact)",
    )
    def post(self, request: Request) -> Response:
        serializer = s.ContactCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if data.get("user_id"):
            target = selectors.user_get(user_id=data["user_id"])
        else:
            target = selectors.user_get_by_phone(phone=data["phone"])
        contact, created = services.contact_add(owner=request.user, contact=target, name=data["name"])
        return Response(s.ContactSerializer(contact).data, status=status.HTTP_201_CREATED if created else 200)


@extend_schema(tags=["contacts"])
class ContactDetailView(APIView):
    @extend_schema(responses={204: None, **AUTH_ERRORS, **errors(e404="not_found")}, summary="Remove a contact")
    def delete(self, request: Request, contact_id: int) -> Response:
        services.contact_remove(contact=selectors.contact_get(owner=request.user, contact_id=contact_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["contacts"])
class ContactSyncView(APIView):
    @extend_schema(
        request=s.ContactSyncSerializer,
        responses={
            200: s.ContactSyncResultSerializer,
            **AUTH_ERRORS,
            **errors(e400="validation_error, too_many_phones"),
        },
        summary="Find which address-book numbers are registered; adds them as contacts",
    )
    def post(self, request: Request) -> Response:
        serializer = s.ContactSyncSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        matches = services.contacts_sync(owner=request.user, phones=serializer.validated_data["phones"])
        return Response({"matches": [{"phone": phone, "user": s.UserSerializer(user).data} for phone, user in matches]})


@extend_schema(tags=["contacts"])
class BlockListView(ListAPIView):
    serializer_class = s.BlockSerializer

    def get_queryset(self):
        return selectors.block_list(blocker=self.request.user)

    @extend_schema(responses={200: s.BlockSerializer(many=True), **AUTH_ERRORS}, summary="List blocked users")
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=s.BlockCreateSerializer,
        responses={
            201: s.BlockSerializer,
            200: s.BlockSerializer,
            **AUTH_ERRORS,
            **errors(e400="validation_error, cannot_target_self", e404="not_found"),
        },
        summary="Block a user (200 if already blocked)",
    )
    def post(self, request: Request) -> Response:
        serializer = s.BlockCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        target = selectors.user_get(user_id=serializer.validated_data["user_id"])
        block, created = services.block_add(blocker=request.user, blocked=target)
        return Response(s.BlockSerializer(block).data, status=status.HTTP_201_CREATED if created else 200)


@extend_schema(tags=["contacts"])
class BlockDetailView(APIView):
    @extend_schema(responses={204: None, **AUTH_ERRORS, **errors(e404="not_found")}, summary="Unblock a user")
    def delete(self, request: Request, user_id) -> Response:
        services.block_remove(block=selectors.block_get(blocker=request.user, blocked_id=user_id))
        return Response(status=status.HTTP_204_NO_CONTENT)
