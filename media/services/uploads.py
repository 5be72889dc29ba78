"""Accepting an upload: type allow-list, size limits, quota, cleaning, storage."""

import io
import uuid
from typing import IO

from django.conf import settings
from django.core.files import File
from django.db import transaction

from accounts.models import User
from media import errors
from media.filenames import filename_clean
from media.filetypes import ISO_BMFF_TYPES, allowed_type_detect, file_head
from media.images import THUMBNAIL_CONTENT_TYPE, image_clean
from media.models import Attachment
from media.probing import media_probe, mp4_metadata_strip
from media.selectors import attachment_storage_used
from media.storage import storage_delete, storage_keys, storage_save


def upload_limit_bytes(kind: str | None = None) -> int:
    """The size limit for uploads of `kind`; without one, the largest limit of any kind."""
    limits = settings.MEDIA_MAX_UPLOAD_BYTES
    return limits[kind] if kind else max(limits.values())


def _check_quota(*, uploader: User, size: int) -> None:
    used = attachment_storage_used(uploader=uploader)
    quota = settings.MEDIA_USER_QUOTA_BYTES
    if used + size > quota:
        raise errors.quota_exceeded(quota_bytes=quota, used_bytes=used, size=size)


def attachment_create(*, uploader: User, file: File, filename: str) -> Attachment:
    """Check, clean and store one upload; REST and anything else that takes files come here.

    `file` must be a seekable temporary the service may modify (an uploaded file): MP4 metadata
    boxes are blanked in place. Images are re-encoded and get a WebP thumbnail.
    """
    allowed = allowed_type_detect(file_head(file))
    limit = upload_limit_bytes(allowed.kind)
    if file.size > limit:
        raise errors.file_too_large(kind=allowed.kind, max_bytes=limit)
    # Unlocked pre-check so a user over quota costs no decoding; repeated under the lock below.
    _check_quota(uploader=uploader, size=file.size)

    content: IO[bytes] = file
    size = file.size
    thumbnail: bytes | None = None
    width = height = None
    duration = None
    if allowed.kind == Attachment.Kind.IMAGE:
        clean = image_clean(
            file,
            allowed=allowed,
            max_pixels=settings.MEDIA_MAX_IMAGE_PIXELS,
            thumbnail_side=settings.MEDIA_THUMBNAIL_MAX_SIDE,
        )
        content, size, width, height = io.BytesIO(clean.content), len(clean.content), clean.width, clean.height
        thumbnail = clean.thumbnail
    else:
        if allowed.content_type in ISO_BMFF_TYPES:
            mp4_metadata_strip(file, size=size)
        info = media_probe(file, size=size, content_type=allowed.content_type)
        width, height, duration = info.width, info.height, info.duration_seconds

    attachment_id = uuid.uuid4()
    key, thumbnail_key = storage_keys(attachment_id=attachment_id, extension=allowed.extension)
    stored: list[str] = []
    try:
        # Bytes go to storage before the row exists and outside the transaction: an upload to
        # S3 can take seconds and must not hold the uploader's row lock.
        key = storage_save(key=key, content=content, content_type=allowed.content_type)
        stored.append(key)
        if thumbnail is not None:
            thumbnail_key = storage_save(
                key=thumbnail_key, content=io.BytesIO(thumbnail), content_type=THUMBNAIL_CONTENT_TYPE
            )
            stored.append(thumbnail_key)
        else:
            thumbnail_key = ""
        with transaction.atomic():
            # Concurrent uploads by one user queue on this row lock, so together they cannot
            # overrun the quota.
            list(User.objects.select_for_update().filter(pk=uploader.pk).values_list("pk", flat=True))
            _check_quota(uploader=uploader, size=size)
            return Attachment.objects.create(
                id=attachment_id,
                uploader=uploader,
                kind=allowed.kind,
                storage_key=key,
                thumbnail_key=thumbnail_key,
                original_filename=filename_clean(filename, allowed=allowed),
                content_type=allowed.content_type,
                size=size,
                width=width,
                height=height,
                duration_seconds=duration,
            )
    except BaseException:
        storage_delete(*stored)
        raise
