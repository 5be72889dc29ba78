"""The allow-list of uploadable types, recognised by magic bytes (never by name or claimed type).

docs/media.md renders this table for clients; keep the two in step.
"""

from dataclasses import dataclass
from typing import IO

import filetype

from media import errors
from media.models import Attachment
from messenger.errors import ApplicationError

# filetype looks at most this far into a file; ISO-BMFF (MP4) needs its whole `ftyp` box.
SNIFF_BYTES = 8192


@dataclass(frozen=True)
class AllowedType:
    """One allowed type: what we store it as and how we name it on download."""

    content_type: str
    kind: str
    extension: str
    # Other extensions a client-supplied filename may keep (else the canonical one is put on).
    aliases: tuple[str, ...] = ()
    # Pillow format name; images are decoded and re-encoded with it.
    pillow_format: str = ""


# Plain strings: they key settings.MEDIA_MAX_UPLOAD_BYTES, and enum members hash by name.
_IMAGE = Attachment.Kind.IMAGE.value
_VIDEO = Attachment.Kind.VIDEO.value
_AUDIO = Attachment.Kind.AUDIO.value
_FILE = Attachment.Kind.FILE.value

# Keyed by the MIME type `filetype` reports. Several may map to the type we store (APNG is PNG).
ALLOWED_TYPES: dict[str, AllowedType] = {
    "image/jpeg": AllowedType("image/jpeg", _IMAGE, ".jpg", (".jpeg", ".jpe"), pillow_format="JPEG"),
    "image/png": AllowedType("image/png", _IMAGE, ".png", (".apng",), pillow_format="PNG"),
    "image/apng": AllowedType("image/png", _IMAGE, ".png", (".apng",), pillow_format="PNG"),
    "image/webp": AllowedType("image/webp", _IMAGE, ".webp", pillow_format="WEBP"),
    "image/gif": AllowedType("image/gif", _IMAGE, ".gif", pillow_format="GIF"),
    "video/mp4": AllowedType("video/mp4", _VIDEO, ".mp4", (".m4v",)),
    "video/quicktime": AllowedType("video/quicktime", _VIDEO, ".mov", (".qt",)),
    "video/webm": AllowedType("video/webm", _VIDEO, ".webm"),
    "audio/mpeg": AllowedType("audio/mpeg", _AUDIO, ".mp3"),
    "audio/ogg": AllowedType("audio/ogg", _AUDIO, ".ogg", (".oga", ".opus")),
    "audio/mp4": AllowedType("audio/mp4", _AUDIO, ".m4a", (".mp4", ".aac")),
    "audio/aac": AllowedType("audio/aac", _AUDIO, ".aac"),
    "audio/x-wav": AllowedType("audio/wav", _AUDIO, ".wav"),
    "application/pdf": AllowedType("application/pdf", _FILE, ".pdf"),
}

# ISO base media files whose metadata boxes are neutralised on upload (see media.probing).
ISO_BMFF_TYPES = frozenset({"video/mp4", "video/quicktime", "audio/mp4"})


def allowed_type_detect(head: bytes) -> AllowedType:
    """The allow-listed type of a file from its first bytes, or `unsupported_type`."""
    guessed = filetype.guess(head) if head else None
    allowed = ALLOWED_TYPES.get(guessed.mime) if guessed is not None else None
    if allowed is None:
        raise ApplicationError(
            "This file type is not allowed.",
            code=errors.UNSUPPORTED_TYPE,
            details={"detected": guessed.mime if guessed is not None else None},
        )
    return allowed


def file_head(file: IO[bytes]) -> bytes:
    """The first SNIFF_BYTES of a file, leaving it at position 0."""
    file.seek(0)
    head = file.read(SNIFF_BYTES)
    file.seek(0)
    return head
