"""Calls REST endpoints: history, the HTTP alternatives to call:start / call:end, ICE servers.
Thin: parse, call a selector or service, shape the answer."""

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from calls import selectors, services
from calls.api import serializers as s
from calls.ice_servers import ice_servers_for_user
from calls.payloads import ice_servers_payload
from messenger.api.pagination import DefaultCursorPagination
from messenger.api.schema import AUTH_ERRORS, errors


class CallCursorPagination(DefaultCursorPagination):
    ordering = ("-created_at", "-id")


def _call_response(request: Request, call_id, *, http_status: int = 200) -> Response:
    call = selectors.call_get_visible(call_id=call_id, user=request.user)
    return Response(s.CallSerializer(call, context={"request": request}).data, status=http_status)


@extend_schema(tags=["calls"])
class CallListView(ListAPIView):
    serializer_class = s.CallSerializer
    pagination_class = CallCursorPagination

    def get_queryset(self):
        query = s.CallHistoryQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return selectors.call_history_for_user(user=self.request.user, now=timezone.now(), **query.validated_data)

    def paginate_queryset(self, queryset):
        return selectors.calls_attach_peers(super().paginate_queryset(queryset), viewer_id=self.request.user.pk)

    @extend_schema(
        parameters=[
            OpenApiParameter("chat_id", str, description="Only the calls of this chat."),
            OpenApiParameter("missed", bool, description="true: only calls you missed; false: all others."),
            OpenApiParameter("limit", int, description="1-200, default 50."),
        ],
        responses={200: s.CallSerializer(many=True), **AUTH_ERRORS, **errors(e400="validation_error")},
        summary="Your call history, newest first (calls of your chats and calls you took part in)",
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=s.CallStartSerializer,
        responses={
            201: s.CallSerializer,
            **AUTH_ERRORS,
            **errors(
                e400="validation_error, call_not_allowed", e403="blocked", e404="not_found", e409="call_in_progress"
            ),
        },
        summary="Start a call from this device (same as call:start; a busy callee: the call is ended `busy`)",
    )
    def post(self, request: Request) -> Response:
        serializer = s.CallStartSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        call = services.call_start(user=request.user, session_id=request.auth.pk, **serializer.validated_data)
        return _call_response(request, call.pk, http_status=status.HTTP_201_CREATED)


@extend_schema(tags=["calls"])
class CallDetailView(APIView):
    @extend_schema(
        responses={200: s.CallSerializer, **AUTH_ERRORS, **errors(e404="not_found")},
        summary="One call (members of its chat and its participants)",
    )
    def get(self, request: Request, call_id) -> Response:
        return _call_response(request, call_id)


@extend_schema(tags=["calls"])
class CallEndView(APIView):
    @extend_schema(
        request=s.CallEndSerializer,
        responses={200: s.CallSerializer, **AUTH_ERRORS, **errors(e400="validation_error", e404="not_found")},
        summary="Hang up (same as call:end: a 1:1 call ends for both, a group call is left)",
    )
    def post(self, request: Request, call_id) -> Response:
        serializer = s.CallEndSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.call_end(user=request.user, session_id=request.auth.pk, call_id=call_id, **serializer.validated_data)
        return _call_response(request, call_id)


@extend_schema(tags=["calls"])
class IceServersView(APIView):
    @extend_schema(
        responses={200: s.IceServersSerializer, **AUTH_ERRORS},
        summary="STUN and TURN servers for your calls, with TURN credentials of your own",
    )
    def get(self, request: Request) -> Response:
        servers, ttl = ice_servers_for_user(user_id=request.user.pk, now=timezone.now())
        return Response(ice_servers_payload(servers, ttl_seconds=ttl))
