"""Shapes of chats, members and messages for REST and OpenAPI; the bodies come from chats.payloads."""

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.api.serializers import UserSerializer
from chats.models import Chat, ChatMember, Message
from chats.payloads import chat_payload, chat_public_payload, folder_payload, invite_payload, message_payload
from media.api.serializers import AttachmentSerializer, AvatarSerializer


class ReactionSerializer(serializers.Serializer):
    emoji = serializers.CharField()
    count = serializers.IntegerField(min_value=1)
    me = serializers.BooleanField(
        required=False, help_text="Whether you left this emoji (absent in events, which every member receives)."
    )


class ForwardedFromSerializer(serializers.Serializer):
    sender_id = serializers.CharField(allow_null=True, help_text="Who wrote the original (null: account deleted).")
    sender_name = serializers.CharField(help_text="Their display name (else username) when it was forwarded.")
    chat_id = serializers.CharField(
        allow_null=True, help_text="The group or channel it came from; null for a direct chat, never shown."
    )
    chat_title = serializers.CharField(allow_null=True)
    sent_at = serializers.DateTimeField(help_text="When the original was sent.")


class MessageSerializer(serializers.ModelSerializer):
    id = serializers.CharField(read_only=True)
    chat_id = serializers.CharField(read_only=True)
    sender_id = serializers.CharField(read_only=True, allow_null=True)
    reply_to_id = serializers.CharField(read_only=True, allow_null=True)
    text = serializers.SerializerMethodField()
    system = serializers.SerializerMethodField(
        help_text="For kind system and call: what happened, e.g. {event, actor_id, ...}; null for text."
    )
    forwarded_from = serializers.SerializerMethodField(help_text="A forwarded copy's origin; null otherwise.")
    mentions = serializers.SerializerMethodField(help_text="Ids of the members the text mentions.")
    attachments = serializers.SerializerMethodField()
    reactions = serializers.SerializerMethodField(help_text="Each emoji with its count, in the order of first use.")
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
            "forwarded_from",
            "mentions",
            "attachments",
            "reactions",
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

    @extend_schema_field(ForwardedFromSerializer(allow_null=True))
    def get_forwarded_from(self, message: Message) -> dict | None:
        return message_payload(message)["forwarded_from"]

    @extend_schema_field(serializers.ListField(child=serializers.UUIDField()))
    def get_mentions(self, message: Message) -> list:
        return message_payload(message)["mentions"]

    @extend_schema_field(AttachmentSerializer(many=True))
    def get_attachments(self, message: Message) -> list:
        return message_payload(message)["attachments"]

    @extend_schema_field(ReactionSerializer(many=True))
    def get_reactions(self, message: Message) -> list:
        return message_payload(message)["reactions"]

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


class ChatSettingsSerializer(serializers.Serializer):
    """A member's own settings of a chat (chats.payloads.chat_settings_payload)."""

    chat_id = serializers.UUIDField(read_only=True)
    muted_until = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="Muted until then; null when not muted."
    )
    archived = serializers.BooleanField(read_only=True)
    pinned = serializers.BooleanField(read_only=True)
    pinned_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="When it was pinned; pinned chats list newest pin first."
    )


class ChatSerializer(ChatPublicSerializer):
    """A chat as the requesting member sees it (role, unread count, last message, settings)."""

    role = serializers.CharField(source="my_role", read_only=True)
    unread_count = serializers.IntegerField(read_only=True)
    unread_mentions_count = serializers.IntegerField(
        read_only=True, help_text="Unread messages that mention you (GET /api/v1/chats/{id}/mentions lists them)."
    )
    last_read_seq = serializers.IntegerField(source="my_last_read_seq", read_only=True)
    last_delivered_seq = serializers.IntegerField(source="my_last_delivered_seq", read_only=True)
    member_count = serializers.IntegerField(read_only=True)
    peer_id = serializers.SerializerMethodField(help_text="For direct chats, the other participant's id.")
    last_message = serializers.SerializerMethodField()
    settings = ChatSettingsSerializer(read_only=True, help_text="Your own settings of the chat.")

    class Meta(ChatPublicSerializer.Meta):
        fields = [
            *ChatPublicSerializer.Meta.fields,
            "last_activity_at",
            "role",
            "unread_count",
            "unread_mentions_count",
            "last_read_seq",
            "last_delivered_seq",
            "member_count",
            "peer_id",
            "last_message",
            "settings",
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


class ChatSettingsUpdateSerializer(serializers.Serializer):
    """PATCH /api/v1/chats/{id}/settings; with `chat_id`, the chat:settings frame. Omitted fields keep their value."""

    muted_until = serializers.DateTimeField(
        required=False,
        allow_null=True,
        help_text="Muted until then (9999-12-31T23:59:59Z: for good); null or a past time unmutes.",
    )
    archived = serializers.BooleanField(required=False, help_text="Archiving unpins the chat.")
    pinned = serializers.BooleanField(required=False, help_text="Pinning takes the chat out of the archive.")


class ChatSettingsFrameSerializer(ChatSettingsUpdateSerializer):
    chat_id = serializers.UUIDField()


class ChatListQuerySerializer(serializers.Serializer):
    """The chat list's filters (query parameters)."""

    archived = serializers.BooleanField(required=False, default=False)
    folder_id = serializers.UUIDField(required=False, default=None)
    q = serializers.CharField(required=False, default="", allow_blank=True, max_length=64)


class FolderSerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    name = serializers.CharField(read_only=True)
    position = serializers.IntegerField(read_only=True, help_text="The folder's place among yours, from 0.")
    chat_ids = serializers.ListField(child=serializers.UUIDField(), read_only=True, help_text="In your order.")
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

    def to_representation(self, folder) -> dict:
        return folder_payload(folder)


class FolderCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=64)
    chat_ids = serializers.ListField(
        child=serializers.UUIDField(),
        required=False,
        default=list,
        max_length=settings.CHAT_FOLDER_MAX_CHATS,
        help_text="Chats of yours, in the order the folder lists them.",
    )


class FolderUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=64, required=False)
    chat_ids = serializers.ListField(
        child=serializers.UUIDField(),
        required=False,
        max_length=settings.CHAT_FOLDER_MAX_CHATS,
        help_text="Replaces the folder's chats.",
    )


class FolderOrderSerializer(serializers.Serializer):
    folder_ids = serializers.ListField(
        child=serializers.UUIDField(), max_length=settings.CHAT_MAX_FOLDERS, help_text="Every folder of yours, once."
    )


class InviteSerializer(serializers.Serializer):
    code = serializers.CharField(read_only=True, help_text="The link's secret; share it to let someone join.")
    chat_id = serializers.UUIDField(read_only=True)
    created_by = serializers.UUIDField(read_only=True, allow_null=True)
    created_at = serializers.DateTimeField(read_only=True)
    expires_at = serializers.DateTimeField(read_only=True, allow_null=True)
    max_uses = serializers.IntegerField(read_only=True, allow_null=True)
    uses = serializers.IntegerField(read_only=True)
    revoked_at = serializers.DateTimeField(read_only=True, allow_null=True)

    def to_representation(self, invite) -> dict:
        return invite_payload(invite)


class InviteCreateSerializer(serializers.Serializer):
    expires_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    max_uses = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1, max_value=10**6)


class InvitePreviewSerializer(serializers.Serializer):
    code = serializers.CharField()
    chat_id = serializers.UUIDField()
    type = serializers.CharField(help_text="group or channel")
    title = serializers.CharField()
    description = serializers.CharField()
    avatar = AvatarSerializer(allow_null=True)
    member_count = serializers.IntegerField()
    expires_at = serializers.DateTimeField(allow_null=True)
    is_member = serializers.BooleanField(help_text="You are in the chat already; joining changes nothing.")


_TEXT_HELP = (
    f"At most MESSAGE_MAX_LENGTH ({settings.MESSAGE_MAX_LENGTH}) characters after trimming surrounding "
    "whitespace (more: text_too_long); NUL and lone surrogates are refused (validation_error)."
)


class ForwardFromSerializer(serializers.Serializer):
    chat_id = serializers.UUIDField()
    message_id = serializers.UUIDField()


class MessageSendSerializer(serializers.Serializer):
    """`message:send` over the WebSocket and POST .../messages over REST."""

    chat_id = serializers.UUIDField()
    client_id = serializers.CharField(max_length=64, help_text="Sender-chosen idempotency key (e.g. a UUID).")
    # The length limit is the service's (text_too_long), for sends and edits alike.
    text = serializers.CharField(required=False, allow_blank=True, default="", help_text=_TEXT_HELP)
    reply_to = serializers.UUIDField(required=False, allow_null=True, default=None)
    # Counted by media.selectors.attachment_list_for_message (too_many_attachments).
    attachment_ids = serializers.ListField(child=serializers.UUIDField(), required=False, default=list)
    forward_from = ForwardFromSerializer(
        required=False,
        allow_null=True,
        default=None,
        help_text="Forward a message you can see (instead of text, attachments and reply): "
        "its text and files are copied, with `forwarded_from` naming its origin.",
    )

    def validate(self, data: dict) -> dict:
        if data["forward_from"] is not None and (data["text"] or data["attachment_ids"] or data["reply_to"]):
            raise serializers.ValidationError(
                {"forward_from": ["A forward has no text, attachments or reply of its own."]}
            )
        return data


class MessageCreateSerializer(MessageSendSerializer):
    """The REST body: the chat comes from the URL."""

    chat_id = None


class MessageEditSerializer(serializers.Serializer):
    text = serializers.CharField(allow_blank=True, help_text=_TEXT_HELP)


class MessageDeleteQuerySerializer(serializers.Serializer):
    for_everyone = serializers.BooleanField(
        required=False,
        default=True,
        help_text="true (default): delete for every member (sender, or group/channel owner and admins); "
        "false: hide it from your own history on all your devices.",
    )


class MessageVersionSerializer(serializers.Serializer):
    text = serializers.CharField()
    written_at = serializers.DateTimeField(help_text="When this version was sent or edited in.")


class MessageVersionListSerializer(serializers.Serializer):
    results = MessageVersionSerializer(many=True, help_text="Oldest first; the last is the current text.")


class PinSerializer(serializers.Serializer):
    message = MessageSerializer()
    pinned_by = serializers.CharField(allow_null=True)
    pinned_at = serializers.DateTimeField()


class PinListSerializer(serializers.Serializer):
    results = PinSerializer(many=True, help_text="Newest pin first.")


class PinsStateSerializer(serializers.Serializer):
    chat_id = serializers.CharField()
    pinned_message_ids = serializers.ListField(child=serializers.UUIDField(), help_text="Newest pin first.")


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
