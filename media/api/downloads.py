"""HTTP responses that hand out stored bytes: streamed locally, or a presigned S3 redirect."""

import logging
from pathlib import PurePath

from django.http import FileResponse, HttpResponse, HttpResponseRedirect

from media.filenames import content_disposition
from media.images import THUMBNAIL_CONTENT_TYPE
from media.models import Attachment
from media.storage import storage_open, storage_presigned_url, storage_uses_presigned_urls
from messenger.errors import NotFound

logger = logging.getLogger(__name__)


def attachment_file_response(attachment: Attachment, *, thumbnail: bool = False) -> HttpResponse:
    """The file (or its thumbnail) as a download: never inline, never sniffed, never HTML."""
    if thumbnail:
        if not attachment.thumbnail_key:
            raise NotFound("This attachment has no thumbnail.")
        key, content_type = attachment.thumbnail_key, THUMBNAIL_CONTENT_TYPE
        filename = f"{PurePath(attachment.original_filename).stem}_thumbnail.webp"
    else:
        key, content_type, filename = attachment.storage_key, attachment.content_type, attachment.original_filename

    if storage_uses_presigned_urls():
        # The bucket stays private; the URL is good for S3_URL_EXPIRE_SECONDS and carries the
        # disposition and type S3 must answer with.
        response: HttpResponse = HttpResponseRedirect(
            storage_presigned_url(key=key, filename=filename, content_type=content_type)
        )
        response["Cache-Control"] = "private, no-store"
    else:
        try:
            file = storage_open(key)
        except FileNotFoundError as exc:
            logger.error("Stored file %s of attachment %s is missing", key, attachment.pk)
            raise NotFound("No such attachment.") from exc
        response = FileResponse(file, content_type=content_type)
        response["Content-Disposition"] = content_disposition(filename)
        # The bytes behind an id never change; access checks happen before they are sent.
        response["Cache-Control"] = "private, max-age=86400, immutable"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
