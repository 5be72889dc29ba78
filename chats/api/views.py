"""Chats REST endpoints. Thin: parse, call a selector or service, shape the answer."""

from asgiref.sync import async_to_sync
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chats import selectors, services
from chats.api import serializers as s
from chats.payloads import chat_settings_payload, message_edit_payload, pin_payload, receipt_payload
from messenger.api.pagination import DefaultCursorPagination
from messenger.api.schema import AUTH_ERRORS, errors

NOT_FOUND = errors(e404="not_found")
FORBIDDEN = errors(e403="forbidden")


class ChatCursorPagination(DefaultCursorPagination):
    # Pinned chats first, newest pin first; then newest activity first (chats.selectors).
    ordering = ("-list_position", "-id")


def chat_response(request: Request, chat_id, *, http_status: int = 200) -> Response:
    chat = selectors.chat_get_for_member(chat_id=chat_id, user=request.user)
    selectors.chats_attach_last_messages([chat], user=request.user)
    return Response(s.ChatSerializer(chat, context={"request": request}).data, status=http_status)


@extend_schema(tags=["chats"])
class ChatListView(ListAPIView):
    serializer_class = s.ChatSerializer
    pagination_class = ChatCursorPagination

    def get_queryset(self):
        query = s.ChatListQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        filters = query.validated_data
        return selectors.chat_list_filtered(
            user=self.request.user, archived=filters["archived"], folder_id=filters["folder_id"], query=filters["q"]
        )

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        return selectors.chats_attach_last_messages(page, user=self.request.user)

    @extend_schema(
        parameters=[
            OpenApiParameter("archived", bool, description="true: only archived chats; otherwise the others."),
            OpenApiParameter("folder_id", OpenApiTypes.UUID, description="Only the chats of this folder of yours."),
            OpenApiParameter("q", str, description="Only chats whose title, or another member's name, contains this."),
        ],
        responses={200: s.ChatSerializer(many=True), **AUTH_ERRORS, **NOT_FOUND, **errors(e400="validation_error")},
        summary="The caller's chats: pinned first, then newest activity, with unread and mention counts and settings",
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=s.ChatCreateSerializer,
        responses={201: s.ChatSerializer, **AUTH_ERRORS, **errors(e400="validation_error", e404="not_found")},
        summary="Create a group or channel (the caller becomes its owner)",
    )
    def post(self, request: Request) -> Response:
        serializer = s.ChatCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        chat = services.chat_create(creator=request.user, **serializer.validated_data)
        return chat_response(request, chat.pk, http_status=status.HTTP_201_CREATED)


@extend_schema(tags=["chats"])
class DirectChatView(APIView):
    @extend_schema(
        request=s.DirectChatCreateSerializer,
        responses={
            200: s.ChatSerializer,
            201: s.ChatSerializer,
            **AUTH_ERRORS,
            **errors(e400="validation_error, cannot_message_self", e403="blocked", e404="not_found"),
        },
        summary="Find or create the direct chat with a user (200 existing, 201 new)",
    )
    def post(self, request: Request) -> Response:
        serializer = s.DirectChatCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        chat, created = services.chat_direct_get_or_create(
            user=request.user, other_user_id=serializer.validated_data["user_id"]
        )
        return chat_response(request, chat.pk, http_status=201 if created else 200)


@extend_schema(tags=["chats"])
class ChatDetailView(APIView):
    @extend_schema(responses={200: s.ChatSerializer, **AUTH_ERRORS, **NOT_FOUND}, summary="One chat")
    def get(self, request: Request, chat_id) -> Response:
        return chat_response(request, chat_id)

    @extend_schema(
        request=s.ChatUpdateSerializer,
        responses={
            200: s.ChatSerializer,
            **AUTH_ERRORS,
            **NOT_FOUND,
            **errors(e400="validation_error, not_allowed_for_direct, invalid_avatar", e403="forbidden"),
        },
        summary="Edit title, description or avatar (owner and admins)",
    )
    def patch(self, request: Request, chat_id) -> Response:
        chat = selectors.chat_get_membership_checked(chat_id=chat_id, user=request.user)
        serializer = s.ChatUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        services.chat_update(chat=chat, actor=request.user, **serializer.validated_data)
        return chat_response(request, chat_id)

    @extend_schema(
        responses={204: None, **AUTH_ERRORS, **NOT_FOUND, **FORBIDDEN},
        summary="Delete the chat for everyone (group/channel owner, or either side of a direct chat)",
    )
    def delete(self, request: Request, chat_id) -> Response:
        chat = selectors.chat_get_membership_checked(chat_id=chat_id, user=request.user)
        services.chat_delete(chat=chat, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["chats"])
class ChatSettingsView(APIView):
    @extend_schema(
        request=s.ChatSettingsUpdateSerializer,
        responses={
            200: s.ChatSettingsSerializer,
            **AUTH_ERRORS,
            **NOT_FOUND,
            **errors(e400="validation_error, too_many_pinned"),
        },
        summary="Change your own settings of a chat: mute, archive, pin (same as chat:settings)",
    )
    def patch(self, request: Request, chat_id) -> Response:
        serializer = s.ChatSettingsUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        settings = services.chat_settings_update(user=request.user, chat_id=chat_id, **serializer.validated_data)
        return Response(chat_settings_payload(settings))


@extend_schema(tags=["members"])
class ChatLeaveView(APIView):
    @extend_schema(
        request=None,
        responses={204: None, **AUTH_ERRORS, **NOT_FOUND, **errors(e400="not_allowed_for_direct")},
        summary="Leave a group or channel (an owner hands over to the oldest admin, else the oldest member)",
    )
    def post(self, request: Request, chat_id) -> Response:
        chat = selectors.chat_get_membership_checked(chat_id=chat_id, user=request.user)
        services.chat_member_remove(chat=chat, actor=request.user, user_id=request.user.pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["members"])
class MemberListView(APIView):
    @extend_schema(
        responses={200: s.MemberSerializer(many=True), **AUTH_ERRORS, **NOT_FOUND}, summary="Members of a chat"
    )
    def get(self, request: Request, chat_id) -> Response:
        chat = selectors.chat_get_membership_checked(chat_id=chat_id, user=request.user)
        return Response(s.MemberSerializer(selectors.member_list(chat=chat), many=True).data)

    @extend_schema(
        request=s.MemberAddSerializer,
        responses={
            201: s.MemberSerializer(many=True),
            **AUTH_ERRORS,
            **NOT_FOUND,
            **errors(e400="validation_error, not_allowed_for_direct", e403="forbidden"),
        },
        summary="Add members (owner and admins); returns the ones newly added",
    )
    def post(self, request: Request, chat_id) -> Response:
        chat = selectors.chat_get_membership_checked(chat_id=chat_id, user=request.user)
        serializer = s.MemberAddSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        added = services.chat_member_add(chat=chat, actor=request.user, **serializer.validated_data)
        return Response(s.MemberSerializer(added, many=True).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["members"])
class MemberDetailView(APIView):
    @extend_schema(
        request=s.MemberUpdateSerializer,
        responses={
            200: s.MemberSerializer,
            **AUTH_ERRORS,
            **NOT_FOUND,
            **errors(e400="validation_error, not_allowed_for_direct", e403="forbidden"),
        },
        summary="Change a member's role (owner only; role=owner hands ownership over)",
    )
    def patch(self, request: Request, chat_id, user_id) -> Response:
        chat = selectors.chat_get_membership_checked(chat_id=chat_id, user=request.user)
        serializer = s.MemberUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        member = services.chat_member_update(
            chat=chat, actor=request.user, user_id=user_id, **serializer.validated_data
        )
        return Response(s.MemberSerializer(member).data)

    @extend_schema(
        responses={204: None, **AUTH_ERRORS, **NOT_FOUND, **errors(e400="not_allowed_for_direct", e403="forbidden")},
        summary="Remove a member; removing yourself leaves the chat",
    )
    def delete(self, request: Request, chat_id, user_id) -> Response:
        chat = selectors.chat_get_membership_checked(chat_id=chat_id, user=request.user)
        services.chat_member_remove(chat=chat, actor=request.user, user_id=user_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


HISTORY_PAGE_DEFAULT, HISTORY_PAGE_MAX = 50, 200  # also chats/history_fast.py's


class _HistoryQuery(s.serializers.Serializer):
    before = s.serializers.IntegerField(required=False, min_value=1)
    after = s.serializers.IntegerField(required=False, min_value=0)
    limit = s.serializers.IntegerField(
        required=False, min_value=1, max_value=HISTORY_PAGE_MAX, default=HISTORY_PAGE_DEFAULT
    )


@extend_schema(tags=["messages"])
class MessageListView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("before", int, description="Page backward: messages with seq below this."),
            OpenApiParameter("after", int, description="Page forward: messages with seq above this."),
            OpenApiParameter("limit", int, description="1-200, default 50."),
        ],
        responses={200: s.MessagePageSerializer, **AUTH_ERRORS, **NOT_FOUND, **errors(e400="validation_error")},
        summary="Message history by seq (ascending within a page)",
    )
    def get(self, request: Request, chat_id) -> Response:
        chat = selectors.chat_get_membership_checked(chat_id=chat_id, user=request.user)
        query = _HistoryQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        messages, has_more = selectors.message_list(chat=chat, user=request.user, **query.validated_data)
        return Response({"results": s.MessageSerializer(messages, many=True).data, "has_more": has_more})

    @extend_schema(
        request=s.MessageCreateSerializer,
        responses={
            201: s.MessageSerializer,
            200: s.MessageSerializer,
            **AUTH_ERRORS,
            **NOT_FOUND,
            **errors(
                e400="validation_error, empty_message, text_too_long, invalid_reply, client_id_reused, "
                "attachment_not_found, too_many_attachments, not_forwardable",
                e403="forbidden, blocked",
                e404="not_found (the chat, or the message forwarded)",
            ),
        },
        summary="Send or forward a message (same rules as message:send; 200 for a repeated client_id)",
    )
    def post(self, request: Request, chat_id) -> Response:
        serializer = s.MessageCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        sent = async_to_sync(services.message_send)(sender=request.user, chat_id=chat_id, **serializer.validated_data)
        return Response(sent.message, status=200 if sent.duplicate else 201)


def _message_response(request: Request, message_id) -> Response:
    """The message as the caller sees it now (reactions with `me`)."""
    return Response(s.MessageSerializer(selectors.message_for_reader(message_id=message_id, user=request.user)).data)


def _message_in_chat(request: Request, chat_id, message_id):
    chat = selectors.chat_get_membership_checked(chat_id=chat_id, user=request.user)
    return chat, selectors.message_get_in_chat(chat=chat, message_id=message_id, user=request.user)


@extend_schema(tags=["messages"])
class MessageDetailView(APIView):
    @extend_schema(
        request=s.MessageEditSerializer,
        responses={
            200: s.MessageSerializer,
            **AUTH_ERRORS,
            **NOT_FOUND,
            **errors(
                e400="validation_error, empty_message, text_too_long",
                e403="forbidden, edit_window_expired",
            ),
        },
        summary="Edit a message's text (sender only, within MESSAGE_EDIT_WINDOW_SECONDS; same as message:edit)",
    )
    def patch(self, request: Request, chat_id, message_id) -> Response:
        chat, message = _message_in_chat(request, chat_id, message_id)
        serializer = s.MessageEditSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.message_edit(user=request.user, chat=chat, message=message, **serializer.validated_data)
        return _message_response(request, message.pk)

    @extend_schema(
        parameters=[s.MessageDeleteQuerySerializer],
        responses={204: None, **AUTH_ERRORS, **NOT_FOUND, **FORBIDDEN, **errors(e400="validation_error")},
        summary="Delete a message for everyone (sender, or group/channel owner and admins) or for yourself",
    )
    def delete(self, request: Request, chat_id, message_id) -> Response:
        chat, message = _message_in_chat(request, chat_id, message_id)
        query = s.MessageDeleteQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        services.message_delete(user=request.user, chat=chat, message=message, **query.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["messages"])
class MessageEditListView(APIView):
    @extend_schema(
        responses={200: s.MessageVersionListSerializer, **AUTH_ERRORS, **NOT_FOUND},
        summary="The versions of a message's text, oldest first (none once it is deleted for everyone)",
    )
    def get(self, request: Request, chat_id, message_id) -> Response:
        _, message = _message_in_chat(request, chat_id, message_id)
        versions = selectors.message_edit_list(message=message)
        return Response({"results": [message_edit_payload(version) for version in versions]})


@extend_schema(tags=["messages"])
class ReactionView(APIView):
    @extend_schema(
        request=None,
        responses={
            200: s.MessageSerializer,
            **AUTH_ERRORS,
            **NOT_FOUND,
            **errors(e400="invalid_emoji, too_many_reactions"),
        },
        summary="Add your reaction (one emoji, URL-encoded) to a message; same as message:react",
    )
    def put(self, request: Request, chat_id, message_id, emoji: str) -> Response:
        chat, message = _message_in_chat(request, chat_id, message_id)
        services.message_react(user=request.user, chat=chat, message=message, emoji=emoji)
        return _message_response(request, message.pk)

    @extend_schema(
        responses={200: s.MessageSerializer, **AUTH_ERRORS, **NOT_FOUND, **errors(e400="invalid_emoji")},
        summary="Take your reaction off a message; same as message:unreact",
    )
    def delete(self, request: Request, chat_id, message_id, emoji: str) -> Response:
        chat, message = _message_in_chat(request, chat_id, message_id)
        services.message_unreact(user=request.user, chat=chat, message=message, emoji=emoji)
        return _message_response(request, message.pk)


@extend_schema(tags=["messages"])
class PinListView(APIView):
    @extend_schema(
        responses={200: s.PinListSerializer, **AUTH_ERRORS, **NOT_FOUND},
        summary="The chat's pinned messages, newest pin first (at most 100)",
    )
    def get(self, request: Request, chat_id) -> Response:
        chat = selectors.chat_get_membership_checked(chat_id=chat_id, user=request.user)
        return Response({"results": [pin_payload(pin) for pin in selectors.pin_list(chat=chat, user=request.user)]})


@extend_schema(tags=["messages"])
class PinView(APIView):
    @extend_schema(
        request=None,
        responses={
            200: s.PinsStateSerializer,
            **AUTH_ERRORS,
            **NOT_FOUND,
            **errors(e400="too_many_pins", e403="forbidden"),
        },
        summary="Pin a message (group/channel owner and admins; either side of a direct chat); same as message:pin",
    )
    def put(self, request: Request, chat_id, message_id) -> Response:
        chat, message = _message_in_chat(request, chat_id, message_id)
        return Response(services.message_pin(user=request.user, chat=chat, message=message))

    @extend_schema(
        responses={200: s.PinsStateSerializer, **AUTH_ERRORS, **NOT_FOUND, **FORBIDDEN},
        summary="Unpin a message; same as message:unpin",
    )
    def delete(self, request: Request, chat_id, message_id) -> Response:
        chat, message = _message_in_chat(request, chat_id, message_id)
        return Response(services.message_unpin(user=request.user, chat=chat, message=message))


class _MentionQuery(s.serializers.Serializer):
    after = s.serializers.IntegerField(required=False, min_value=0)
    limit = s.serializers.IntegerField(
        required=False, min_value=1, max_value=HISTORY_PAGE_MAX, default=HISTORY_PAGE_DEFAULT
    )


@extend_schema(tags=["messages"])
class MentionListView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("after", int, description="Page forward: mentions with seq above this."),
            OpenApiParameter("limit", int, description="1-200, default 50."),
        ],
        responses={200: s.MessagePageSerializer, **AUTH_ERRORS, **NOT_FOUND, **errors(e400="validation_error")},
        summary="Unread messages that mention you, oldest first (reading past one clears it)",
    )
    def get(self, request: Request, chat_id) -> Response:
        chat = selectors.chat_get_membership_checked(chat_id=chat_id, user=request.user)
        query = _MentionQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        messages, has_more = selectors.mention_list(chat=chat, user=request.user, **query.validated_data)
        return Response({"results": s.MessageSerializer(messages, many=True).data, "has_more": has_more})


@extend_schema(tags=["messages"])
class ReadView(APIView):
    @extend_schema(
        request=s.ReadSerializer,
        responses={200: s.ReceiptStateSerializer, **AUTH_ERRORS, **NOT_FOUND, **errors(e400="validation_error")},
        summary="Mark messages read up to a seq (same as message:read)",
    )
    def post(self, request: Request, chat_id) -> Response:
        serializer = s.ReadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        member = services.receipt_update(
            user=request.user, chat_id=chat_id, read_up_to=serializer.validated_data["up_to_seq"]
        )
        return Response(receipt_payload(member))


class _SyncQuery(s.serializers.Serializer):
    cursor = s.serializers.IntegerField(min_value=0)
    limit = s.serializers.IntegerField(required=False, min_value=1, max_value=1000)


@extend_schema(tags=["sync"])
class SyncView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("cursor", int, required=True, description="The last cursor the client processed."),
            OpenApiParameter("limit", int, description="At most this many events (1-1000)."),
        ],
        responses={
            200: s.SyncResultSerializer,
            **AUTH_ERRORS,
            **errors(e400="validation_error", e410="cursor_expired (reload over REST)"),
        },
        summary="Events after a cursor, for HTTP-only clients (same stream as the WebSocket)",
    )
    def get(self, request: Request) -> Response:
        query = _SyncQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        page = selectors.stream_events_for_user(
            user_id=request.user.pk, after=query.validated_data["cursor"], limit=query.validated_data.get("limit")
        )
        events = [{"type": event.type, "cursor": event.id, "data": event.payload} for event in page.events]
        return Response({"events": events, "cursor": page.cursor, "has_more": page.has_more})
