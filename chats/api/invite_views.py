"""Invite link endpoints. Thin: parse, call a selector or service, shape the answer."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chats import selectors, services
from chats.api import serializers as s
from chats.api.views import chat_response
from chats.payloads import invite_preview_payload
from chats.throttles import InviteJoinThrottle, InvitePreviewThrottle
from messenger.api.pagination import DefaultCursorPagination
from messenger.api.schema import AUTH_ERRORS, errors

NOT_FOUND = errors(e404="not_found")

MANAGED = errors(e400="not_allowed_for_direct", e403="forbidden", e404="not_found")
INVITE_UNUSABLE = errors(e410="invite_expired, invite_revoked, invite_exhausted")
THROTTLED = errors(e429="throttled")


@extend_schema(tags=["invites"])
class ChatInviteListView(GenericAPIView):
    pagination_class = DefaultCursorPagination

    @extend_schema(
        responses={200: s.InviteSerializer(many=True), **AUTH_ERRORS, **MANAGED},
        summary="The chat's invite links, newest first, revoked and expired ones too (owner and admins)",
    )
    def get(self, request: Request, chat_id) -> Response:
        chat = selectors.chat_get_managed(chat_id=chat_id, user=request.user)
        page = self.paginate_queryset(selectors.invite_list(chat=chat))
        return self.get_paginated_response(s.InviteSerializer(page, many=True).data)

    @extend_schema(
        request=s.InviteCreateSerializer,
        responses={
            201: s.InviteSerializer,
            **AUTH_ERRORS,
            **errors(e400="validation_error, not_allowed_for_direct", e403="forbidden", e404="not_found"),
        },
        summary="Create an invite link to a group or channel (owner and admins)",
    )
    def post(self, request: Request, chat_id) -> Response:
        chat = selectors.chat_get_membership_checked(chat_id=chat_id, user=request.user)
        serializer = s.InviteCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        invite = services.invite_create(chat=chat, actor=request.user, **serializer.validated_data)
        return Response(s.InviteSerializer(invite).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["invites"])
class ChatInviteDetailView(APIView):
    @extend_schema(
        responses={200: s.InviteSerializer, **AUTH_ERRORS, **MANAGED},
        summary="Revoke an invite link (owner and admins); revoking again changes nothing",
    )
    def delete(self, request: Request, chat_id, code: str) -> Response:
        chat = selectors.chat_get_membership_checked(chat_id=chat_id, user=request.user)
        invite = services.invite_revoke(chat=chat, actor=request.user, code=code)
        return Response(s.InviteSerializer(invite).data)


@extend_schema(tags=["invites"])
class InvitePreviewView(APIView):
    throttle_classes = [InvitePreviewThrottle]

    @extend_schema(
        responses={200: s.InvitePreviewSerializer, **AUTH_ERRORS, **NOT_FOUND, **INVITE_UNUSABLE, **THROTTLED},
        summary="What an invite link leads to: title, avatar, member count (any signed-in user)",
    )
    def get(self, request: Request, code: str) -> Response:
        invite = selectors.invite_get_for_preview(code=code)
        is_member = selectors.member_exists(chat_id=invite.chat_id, user_id=request.user.pk)
        return Response(invite_preview_payload(invite, is_member=is_member))


@extend_schema(tags=["invites"])
class InviteJoinView(APIView):
    throttle_classes = [InviteJoinThrottle]

    @extend_schema(
        request=None,
        responses={
            200: s.ChatSerializer,
            201: s.ChatSerializer,
            **AUTH_ERRORS,
            **NOT_FOUND,
            **errors(e403="banned"),
            **INVITE_UNUSABLE,
            **THROTTLED,
        },
        summary="Join a chat by its invite link (201 joined; 200 a member already, nothing changes)",
    )
    def post(self, request: Request, code: str) -> Response:
        chat, joined = services.invite_join(user=request.user, code=code)
        return chat_response(request, chat.pk, http_status=201 if joined else 200)
