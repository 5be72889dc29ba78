"""Attachment shapes for REST and for other apps (chats embeds AttachmentSerializer in messages;
users and chats show AvatarSerializer). The fields declared here document the shapes for OpenAPI;
the bodies themselves come from media.payloads. No side effects here."""

import uuid

from rest_framework import serializers

from media.models import Attachment
from media.payloads import attachment_download_path, attachment_payload, attachment_thumbnail_path, avatar_payload


class AttachmentSerializer(serializers.ModelSerializer):
    """An uploaded file. `url` and `thumbnail_url` are API paths; fetch them with the bearer token."""

    url = serializers.SerializerMethodField(help_text="API path that serves the file (or redirects to it).")
    thumbnail_url = serializers.SerializerMethodField(help_text="API path of a WebP preview; images only, else null.")

    class Meta:
        model = Attachment
        fields = [
            "id",
            "kind",
            "content_type",
            "original_filename",
            "size",
            "width",
            "height",
            "duration_seconds",
            "created_at",
            "url",
            "thumbnail_url",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "content_type": {"help_text": "Detected from the file's bytes, not taken from the client."},
            "original_filename": {"help_text": "The client's name, cleaned; the extension matches the type."},
            "size": {"help_text": "Bytes stored (images after re-encoding)."},
            "duration_seconds": {"help_text": "Audio/video length where the container states it, else null."},
        }

    def to_representation(self, attachment: Attachment) -> dict:
        return attachment_payload(attachment)

    def get_url(self, attachment: Attachment) -> str:
        return attachment_download_path(attachment.pk)

    def get_thumbnail_url(self, attachment: Attachment) -> str | None:
        return attachment_thumbnail_path(attachment.pk) if attachment.thumbnail_key else None


class AttachmentUploadSerializer(serializers.Serializer):
    file = serializers.FileField(
        help_text="The file. Its type is detected from its bytes; see docs/media.md for types and limits."
    )


# Built from the attachment id alone, so embedding it costs no query: declare it as
# `AvatarSerializer(source="avatar_id", read_only=True, allow_null=True)` (users, chats). Avatars are
# always images, and every image has a thumbnail. (The docstring below is API documentation.)
class AvatarSerializer(serializers.Serializer):
    """An avatar image: just enough to fetch it. Null when there is no avatar."""

    id = serializers.UUIDField(read_only=True, help_text="Attachment id.")
    url = serializers.CharField(read_only=True, help_text="API path of the full image.")
    thumbnail_url = serializers.CharField(read_only=True, help_text="API path of the small WebP version.")

    def to_representation(self, instance: Attachment | uuid.UUID) -> dict[str, str] | None:
        return avatar_payload(instance.pk if isinstance(instance, Attachment) else instance)
