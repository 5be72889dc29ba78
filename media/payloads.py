"""The JSON shapes of attachments and avatars, built here only: REST bodies (media.api.serializers
describe them for OpenAPI), message payloads (chats.payloads) and the history page's SQL."""

import uuid

from django.urls import reverse

from media.models import Attachment
from messenger.api.formats import iso_datetime
from messenger.payload_fields import PayloadField, payload, sql_iso_datetime, sql_json, sql_json_id


def attachment_download_path(attachment_id: uuid.UUID | str) -> str:
    return reverse("media-download", kwargs={"attachment_id": attachment_id})


def attachment_thumbnail_path(attachment_id: uuid.UUID | str) -> str:
    return reverse("media-thumbnail", kwargs={"attachment_id": attachment_id})


def _duration(attachment: Attachment) -> float | None:
    return attachment.duration_seconds


# The SQL renders a row `a` of the attachment table; the URL paths come as the parameters
# %(download_prefix)s ... %(thumbnail_suffix)s (the reversed URL around the id).
ATTACHMENT_FIELDS = (
    PayloadField("id", lambda a: str(a.pk), sql_json_id("a.id")),
    PayloadField("kind", lambda a: a.kind, sql_json("a.kind")),
    PayloadField("content_type", lambda a: a.content_type, sql_json("a.content_type")),
    PayloadField("original_filename", lambda a: a.original_filename, sql_json("a.original_filename")),
    PayloadField("size", lambda a: a.size, "a.size::text"),
    PayloadField("width", lambda a: a.width, "coalesce(a.width::text, 'null')"),
    PayloadField("height", lambda a: a.height, "coalesce(a.height::text, 'null')"),
    # Python renders a float that is a whole number with ".0"; PostgreSQL without.
    PayloadField(
        "duration_seconds",
        _duration,
        "CASE WHEN a.duration_seconds IS NULL THEN 'null' "
        "WHEN a.duration_seconds = trunc(a.duration_seconds) AND abs(a.duration_seconds) < 1e15 "
        "THEN trunc(a.duration_seconds)::bigint::text || '.0' "
        "ELSE to_json(a.duration_seconds)::text END",
    ),
    PayloadField("created_at", lambda a: iso_datetime(a.created_at), sql_iso_datetime("a.created_at")),
    PayloadField(
        "url",
        lambda a: attachment_download_path(a.pk),
        "to_json(%(download_prefix)s || a.id || %(download_suffix)s)::text",
    ),
    PayloadField(
        "thumbnail_url",
        lambda a: attachment_thumbnail_path(a.pk) if a.thumbnail_key else None,
        "CASE WHEN a.thumbnail_key = '' THEN 'null' "
        "ELSE to_json(%(thumbnail_prefix)s || a.id || %(thumbnail_suffix)s)::text END",
    ),
)


def attachment_payload(attachment: Attachment) -> dict:
    return payload(ATTACHMENT_FIELDS, attachment)


def avatar_payload(attachment_id: uuid.UUID | str | None) -> dict[str, str] | None:
    """An avatar from its attachment id alone, so embedding one costs no query (avatars are images,
    and every image has a thumbnail)."""
    if attachment_id is None:
        return None
    return {
        "id": str(attachment_id),
        "url": attachment_download_path(attachment_id),
        "thumbnail_url": attachment_thumbnail_path(attachment_id),
    }
