"""Stable error codes of the media app (REST `code`; chats re-raise the message ones unchanged)."""

from messenger.errors import ApplicationError

UNSUPPORTED_TYPE = "unsupported_type"
INVALID_FILE = "invalid_file"
FILE_TOO_LARGE = "file_too_large"
IMAGE_TOO_LARGE = "image_too_large"
QUOTA_EXCEEDED = "quota_exceeded"
ATTACHMENT_NOT_FOUND = "attachment_not_found"
TOO_MANY_ATTACHMENTS = "too_many_attachments"
INVALID_AVATAR = "invalid_avatar"


def file_too_large(*, kind: str | None, max_bytes: int) -> ApplicationError:
    """413 for an upload over the limit of its kind (or of any kind, before the kind is known)."""
    return ApplicationError(
        f"The file is larger than the {max_bytes}-byte limit for {kind or 'any'} uploads.",
        code=FILE_TOO_LARGE,
        status=413,
        details={"kind": kind, "max_bytes": max_bytes},
    )


def quota_exceeded(*, quota_bytes: int, used_bytes: int, size: int) -> ApplicationError:
    """413 for an upload that would take the uploader past their storage quota."""
    return ApplicationError(
        "This upload would exceed your storage quota.",
        code=QUOTA_EXCEEDED,
        status=413,
        details={"quota_bytes": quota_bytes, "used_bytes": used_bytes, "size": size},
    )


def attachment_not_found(*, attachment_ids: list) -> ApplicationError:
    """400 for attachment ids that are not uploads of the sender (or no longer exist)."""
    return ApplicationError(
        "Some attachments do not exist or were not uploaded by you.",
        code=ATTACHMENT_NOT_FOUND,
        details={"attachment_ids": [str(attachment_id) for attachment_id in attachment_ids]},
    )
