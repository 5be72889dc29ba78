"""Where attachment bytes live: server-generated keys on the default storage (local or S3).

The default storage is django-storages' S3Storage when S3_BUCKET is set (MinIO, AWS S3) and the
local filesystem otherwise. Nothing here trusts a client-supplied name.
"""

import logging
import uuid
from typing import IO

from django.conf import settings
from django.core.files import File
from django.core.files.storage import Storage, default_storage, storages
from storages.backends.s3 import S3Storage

from media.filenames import content_disposition

logger = logging.getLogger(__name__)
# The STORAGES alias that signs download URLs for the endpoint clients reach (see settings).
SIGNED_URLS = "signed_urls"


class _TypedFile(File):
    """A file that tells S3Storage its real Content-Type (it reads `content_type`)."""

    def __init__(self, file: IO[bytes], *, content_type: str) -> None:
        super().__init__(file)
        self.content_type = content_type


def storage_keys(*, attachment_id: uuid.UUID, extension: str) -> tuple[str, str]:
    """(file key, thumbnail key). Sharded by id prefix so no directory grows without bound."""
    shard = attachment_id.hex[:2]
    return f"attachments/{shard}/{attachment_id.hex}{extension}", f"thumbnails/{shard}/{attachment_id.hex}.webp"


def storage_save(*, key: str, content: IO[bytes], content_type: str) -> str:
    """Store `content` under `key`; returns the key actually used."""
    content.seek(0)
    return default_storage.save(key, _TypedFile(content, content_type=content_type))


def storage_delete(*keys: str) -> None:
    """Delete stored objects, logging (not raising) failures: a leftover object is only waste."""
    for key in keys:
        if not key:
            continue
        try:
            default_storage.delete(key)
        except Exception:
            logger.exception("Could not delete stored media object %s", key)


def storage_open(key: str) -> File:
    return default_storage.open(key, "rb")


def storage_uses_presigned_urls() -> bool:
    """True for S3: downloads redirect to the bucket instead of streaming through Django."""
    return isinstance(default_storage, S3Storage)


def _url_signer() -> Storage:
    """The storage that signs client URLs: `signed_urls` (the public S3 endpoint) if configured."""
    return storages[SIGNED_URLS] if SIGNED_URLS in settings.STORAGES else default_storage


def storage_presigned_url(*, key: str, filename: str, content_type: str) -> str:
    """A short-lived GET URL whose response headers S3 sets from the (signed) query string.

    The bucket serves what the signature says, not what the object claims, so an upload is never
    rendered inline from the bucket's origin either. The URL names S3_PUBLIC_ENDPOINT_URL when
    that is set: the endpoint the app stores objects through may be unreachable for clients.
    """
    return _url_signer().url(
        key,
        parameters={
            "ResponseContentDisposition": content_disposition(filename),
            "ResponseContentType": content_type,
            "ResponseCacheControl": "private, max-age=86400, immutable",
        },
        expire=settings.S3_URL_EXPIRE_SECONDS,
    )
