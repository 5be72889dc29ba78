"""Shapes of chats, members and messages for REST and OpenAPI; the bodies come from chats.payloads."""

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.api.serializers import UserSerializer
from chats.models import Chat, ChatMember, Message
from chats.payloads import chat_payload, chat_public_payload, message_payload
from media.api.serializers import AttachmentSerializer, AvatarSerializer


class MessageSerializer(serializers.ModelSerializer):
    id = serializers.CharField(read_only=True)
    chat_id = serializers.CharField(read_only=True)
    sender_id = serializers.CharField(read_only=True, allow_null=True)
    reply_to_id = serializers.CharField(read_only=True, allow_null=True)
    text = serializers.SerializerMethodField()
    system = serializers.SerializerMethodField(
        help_text="For kind system and call: what happened, e.g. {event, actor_id, ...}; null for text."
    )
    attachments = serializers.SerializerMethodField()
    deleted = serializers.SerializerMethodField()

    class Meta:
        model = Message
        fields = [
            "id",
            "chat_id",
            "seq",
            "sender_id",
            "client_id",
            "kind",
            "text",
            "system",
            "reply_to_id",
            "attachments",
            "created_at",
            "edited_at",
            "deleted",
        ]
        read_only_fields = fields

    def to_representation(self, message: Message) -> dict:
        return message_payload(message)

    # The getters document the fields' types for OpenAPI; message_payload renders them.
    def get_text(self, message: Message) -> str:
        return message_payload(message)["text"]

    @extend_schema_field({"type": "object", "additionalProperties": True, "nullable": True})
    def get_system(self, message: Message) -> dict | None:
        return message_payload(message)["system"]

    @extend_schema_field(AttachmentSerializer(many=True))
    def get_attachments(self, message: Message) -> list:
        return message_payload(message)["attachments"]

    def get_deleted(self, message: Message) -> bool:
        return message_payload(message)["deleted"]


class ChatPublicSerializer(serializers.ModelSerializer):
    """What every member sees of a chat; the payload of chat:created / chat:updated."""

    id = serializers.CharField(read_only=True)
    avatar = AvatarSerializer(source="avatar_id", read_only=True, allow_null=True)

    class Meta:
        model = Chat
        fields = ["id", "type", "title", "description", "avatar", "created_at", "updated_at", "last_seq"]
        read_only_fields = fields

    def to_representation(self, chat: Chat) -> dict:
        return chat_public_payload(chat)


class ChatSerializer(ChatPublicSerializer):
    """A chat as the requesting member sees it (role, unread count, last message)."""

    role = serializers.CharField(source="my_role", read_only=True)
    unread_count = serializers.IntegerField(read_only=True)
    last_read_seq = serializers.IntegerField(source="my_last_read_seq", read_only=True)
    last_delivered_seq = serializers.IntegerField(source="my_last_delivered_seq", read_only=True)
    member_count = serializers.IntegerField(read_only=True)
    peer_id = serializers.SerializerMethodField(help_text="For direct chats, the other participant's id.")
    last_message = serializers.SerializerMethodField()

    class Meta(ChatPublicSerializer.Meta):
        fields = [
            *ChatPublicSerializer.Meta.fields,
            "last_activity_at",
            "role",
            "unread_count",
            "last_read_seq",
            "last_delivered_seq",
            "member_count",
            "peer_id",
            "last_message",
        ]
        read_only_fields = fields

    def to_representation(self, chat: Chat) -> dict:
        return chat_payload(chat, viewer_id=self.context["request"].user.pk)

    # The getters document the fields' types for OpenAPI; chat_payload renders them.
    def get_peer_id(self, chat: Chat) -> str | None:
        return self.to_representation(chat)["peer_id"]

    @extend_schema_field(MessageSerializer(allow_null=True))
    def get_last_message(self, chat: Chat) -> dict | None:
        return self.to_representation(chat)["last_message"]


class MemberSerializer(serializers.ModelSerializer):
    user = UserSerializer(read_only=True)

    class Meta:
        model = ChatMember
        fields = ["user", "role", "joined_at", "last_delivered_seq", "last_read_seq"]
        read_only_fields = fields


# --- Requests --------------------------------------------------------------------------------


class DirectChatCreateSerializer(serializers.Serializer):
    user_id = serializers.UUIDField()


class ChatCreateSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=[Chat.Type.GROUP, Chat.Type.CHANNEL])
    title = serializers.CharField(max_length=128)
    description = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")
    member_ids = serializers.ListField(
        child=serializers.UUIDField(), required=False, default=list, max_length=settings.CHAT_MAX_MEMBERS_PER_REQUEST
    )


class ChatUpdateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=128, required=False)
    description = serializers.CharField(max_length=1000, required=False, allow_blank=True)
    avatar_id = serializers.UUIDField(
        required=False, allow_null=True, help_text="An image you uploaded (POST /api/v1/media); null removes it."
    )


class MemberAddSerializer(serializers.Serializer):
    user_ids = serializers.ListField(
        child=serializers.UUIDField(), min_length=1, max_length=settings.CHAT_MAX_MEMBERS_PER_REQUEST
    )


class MemberUpdateSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=ChatMember.Role.choices)


class MessageSendSerializer(serializers.Serializer):
    """`message:send` over the WebSocket and POST .../messages over REST."""

    chat_id = serializers.UUIDField()
    client_id = serializers.CharField(max_length=64, help_text="Sender-chosen idempotency key (e.g. a UUID).")
    text = serializers.CharField(max_length=settings.MESSAGE_MAX_LENGTH, required=False, allow_blank=True, default="")
    reply_to = serializers.UUIDField(required=False, allow_null=True, default=None)
    # Counted by media.selectors.attachment_list_for_message (too_many_attachments).
    attachment_ids = serializers.ListField(child=serializers.UUIDField(), required=False, default=list)


class MessageCreateSerializer(MessageSendSerializer):
    """The REST body: the chat comes from the URL."""

    chat_id = None


class MessageEditSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=settings.MESSAGE_MAX_LENGTH)


class ReceiptSerializer(serializers.Serializer):
    chat_id = serializers.UUIDField()
    up_to_seq = serializers.IntegerField(min_value=0)


class ReadSerializer(serializers.Serializer):
    up_to_seq = serializers.IntegerField(min_value=0)


class ReceiptStateSerializer(serializers.Serializer):
    chat_id = serializers.CharField()
    user_id = serializers.CharField()
    delivered_seq = serializers.IntegerField()
    read_seq = serializers.IntegerField()


class MessagePageSerializer(serializers.Serializer):
    results = MessageSerializer(many=True)
    has_more = serializers.BooleanField()


class StreamEventSerializer(serializers.Serializer):
    type = serializers.CharField()
    cursor = serializers.IntegerField()
    data = serializers.JSONField()


class SyncResultSerializer(serializers.Serializer):
    events = StreamEventSerializer(many=True)
    cursor = serializers.IntegerField(help_text="Resume from here next time.")
    has_more = serializers.BooleanField(help_text="True if more events are waiting: call again with `cursor`.")
