"""Client filenames: cleaned for display and for Content-Disposition, never used as paths."""

import re
import unicodedata
from urllib.parse import quote

from media.filetypes import AllowedType

MAX_FILENAME_LENGTH = 255
_UNSAFE_ASCII = re.compile(r"[^A-Za-z0-9._() -]+")


def filename_clean(name: str, *, allowed: AllowedType) -> str:
    """A display name: no directories or control characters, and an extension matching the bytes.

    "../../etc/passwd.jpg" becomes "passwd.jpg"; "invoice.html" holding a PDF becomes
    "invoice.pdf", so a saved download never opens as something other than what it is.
    """
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(char for char in unicodedata.normalize("NFC", name) if unicodedata.category(char)[0] != "C")
    name = name.strip().lstrip(".").strip()
    stem, dot, extension = name.rpartition(".")
    if not dot or not extension.isalnum() or len(extension) > 8:
        stem, extension = name, ""  # "Mr. Smith's notes" has no extension
    if f".{extension.lower()}" not in {allowed.extension, *allowed.aliases}:
        extension = allowed.extension.lstrip(".")
    stem = stem.strip() or "file"
    stem = stem[: MAX_FILENAME_LENGTH - len(extension) - 1]
    return f"{stem}.{extension.lower()}"


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII fallback and the exact name as RFC 6266 / 5987 `filename*`."""
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode("ascii")
    ascii_name = _UNSAFE_ASCII.sub("_", ascii_name).strip(" .") or "download"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"
