"""Filename cleaning, Content-Disposition and container probing, without HTTP."""

import io

import pytest

from media.filenames import content_disposition, filename_clean
from media.filetypes import ALLOWED_TYPES
from media.probing import media_probe, mp4_metadata_strip
from media.tests import samples

JPEG = ALLOWED_TYPES["image/jpeg"]
PDF = ALLOWED_TYPES["application/pdf"]


@pytest.mark.parametrize(
    ("name", "allowed", "expected"),
    [
        ("../../etc/passwd.jpg", JPEG, "passwd.jpg"),
        ("..\\..\\windows\\win.ini", PDF, "win.pdf"),
        ("photo.JPEG", JPEG, "photo.jpeg"),
        ("photo", JPEG, "photo.jpg"),
        ("evil.html", JPEG, "evil.jpg"),
        ("Mr. Smith's notes", PDF, "Mr. Smith's notes.pdf"),
        (".hidden.pdf", PDF, "hidden.pdf"),
        ("", PDF, "file.pdf"),
        ("....", PDF, "file.pdf"),
        ("a\x00b\r\nc\u202e.pdf", PDF, "abc.pdf"),
        ("x" * 400 + ".pdf", PDF, "x" * 251 + ".pdf"),
    ],
)
def test_filename_clean(name, allowed, expected):
    assert filename_clean(name, allowed=allowed) == expected


def test_content_disposition_has_ascii_fallback_and_exact_utf8_name():
    header = content_disposition("Привет мир.pdf")
    assert header.startswith('attachment; filename="')
    assert header.endswith("filename*=UTF-8''%D0%9F%D1%80%D0%B8%D0%B2%D0%B5%D1%82%20%D0%BC%D0%B8%D1%80.pdf")
    assert header.isascii()


def test_content_disposition_cannot_break_out_of_the_quotes():
    header = content_disposition('a"; filename="evil.html')
    assert header.count('"') == 2


def test_probe_of_a_damaged_mp4_is_unknown_not_an_error():
    damaged = samples.mp4_bytes()[:40]
    info = media_probe(io.BytesIO(damaged), size=len(damaged), content_type="video/mp4")
    assert info.duration_seconds is None and info.width is None


def test_mp4_with_64_bit_box_sizes():
    ftyp = samples.mp4_bytes()[:24]
    original = samples.mp4_bytes()[24:]
    moov_size = int.from_bytes(original[:4], "big")
    moov = original[:moov_size]
    large_moov = b"\x00\x00\x00\x01moov" + (moov_size + 8).to_bytes(8, "big") + moov[8:]
    data = ftyp + large_moov + original[moov_size:]
    info = media_probe(io.BytesIO(data), size=len(data), content_type="video/mp4")
    assert (info.duration_seconds, info.width, info.height) == (2.5, 640, 360)


def test_strip_counts_blanked_boxes():
    data = bytearray(samples.mp4_bytes())
    file = io.BytesIO(data)
    assert mp4_metadata_strip(file, size=len(data)) == 1
    assert mp4_metadata_strip(file, size=len(data)) == 0
