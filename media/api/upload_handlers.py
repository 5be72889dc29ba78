"""Refusing an oversized upload while it streams in, instead of after it is all on disk."""

from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.http import HttpRequest

from media import errors
from media.filetypes import SNIFF_BYTES, AllowedType, allowed_type_detect
from media.services.uploads import upload_limit_bytes

UPLOAD_FIELD = "file"
# Room for the multipart boundaries and part headers around the file itself.
MULTIPART_OVERHEAD_BYTES = 16 * 1024


def upload_body_max_bytes() -> int:
    """The longest request body an upload may have: the largest file plus its multipart framing."""
    return upload_limit_bytes() + MULTIPART_OVERHEAD_BYTES


class UploadLimitHandler(FileUploadHandler):
    """Stops parsing as soon as the body passes the size limit of its type or the user's quota.

    Installed ahead of Django's memory/temp-file handlers, so they never receive the bytes past
    the limit. Content-Length is checked before any of the body is parsed; the streamed count
    covers bodies that understate it. The kind is sniffed from the first bytes as they arrive,
    which also turns away a disallowed type without reading the rest. The upload service checks
    everything again on the finished file; this handler only makes refusals early and cheap.

    It raises ApplicationError rather than StopUpload: StopUpload makes the parser return as if
    the request simply had no file, and the client should learn why.
    """

    def __init__(self, request: HttpRequest | None = None, *, quota_bytes: int, used_bytes: int) -> None:
        super().__init__(request)
        self.quota_bytes = quota_bytes
        self.used_bytes = used_bytes
        self._head = b""
        self._allowed: AllowedType | None = None

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if content_length > upload_body_max_bytes():
            raise errors.file_too_large(kind=None, max_bytes=upload_limit_bytes())
        return None  # go on with Django's parser

    def new_file(self, field_name, *args, **kwargs) -> None:
        if field_name != UPLOAD_FIELD:
            raise SkipFile()
        super().new_file(field_name, *args, **kwargs)
        self._head = b""
        self._allowed = None

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        if self._allowed is None and len(self._head) < SNIFF_BYTES:
            self._head += raw_data[: SNIFF_BYTES - len(self._head)]
            if len(self._head) == SNIFF_BYTES:
                self._allowed = allowed_type_detect(self._head)
        received = start + len(raw_data)
        kind = self._allowed.kind if self._allowed else None
        if received > upload_limit_bytes(kind):
            raise errors.file_too_large(kind=kind, max_bytes=upload_limit_bytes(kind))
        if self.used_bytes + received > self.quota_bytes:
            raise errors.quota_exceeded(quota_bytes=self.quota_bytes, used_bytes=self.used_bytes, size=received)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None  # the next handler builds the UploadedFile
