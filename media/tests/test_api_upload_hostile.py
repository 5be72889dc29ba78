"""Hostile uploads: decompression bombs, files disguised as images, polyglots, metadata that hides.

Each is refused (with its documented code, nothing stored) or neutralised (what is stored and
served cannot be the other thing, and carries none of the hidden bytes). See docs/media.md.
"""

import io
import struct
import zlib

import pytest
from PIL import Image, ImageCms, PngImagePlugin

from media.models import Attachment
from media.tests import samples
from media.tests.test_api_upload import stored_bytes, upload

pytestmark = pytest.mark.django_db

SCRIPT = b"<script>alert(document.domain)</script>"
MARKER = b"HIDDEN-MARKER-7f3a"  # planted in every metadata block; must not survive
XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b"<rdf:Description><exif:GPSLatitude>52,31.2N</exif:GPSLatitude><note>" + MARKER + b"</note>"
    b"</rdf:Description></rdf:RDF></x:xmpmeta>"
)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = MARKER.decode()  # Make
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (52.0, 31.0, 12.0)
    return exif


def _save(image: Image.Image, pillow_format: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, format=pillow_format, **options)
    return out.getvalue()


# --- decompression bombs ------------------------------------------------------------------------


def gif_bomb(width: int, height: int) -> bytes:
    """A GIF whose screen and one image claim width x height, with a few bytes of LZW data."""
    screen = b"GIF89a" + struct.pack("<HHBBB", width, height, 0, 0, 0)
    image = b"\x2c" + struct.pack("<HHHHB", 0, 0, width, height, 0) + b"\x02\x02\x44\x01\x00"
    return screen + image + b"\x3b"


def jpeg_bomb(width: int, height: int) -> bytes:
    """A small real JPEG whose frame header (SOF0) is rewritten to claim width x height."""
    data = bytearray(samples.image_bytes("JPEG", size=(8, 8)))
    sof = data.find(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def webp_bomb(width: int, height: int) -> bytes:
    """An extended WebP whose canvas (VP8X) claims width x height."""
    data = bytearray(_save(Image.new("RGBA", (8, 8)), "WEBP"))
    vp8x = data.find(b"VP8X")
    data[vp8x + 12 : vp8x + 18] = (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    return bytes(data)


BOMBS = [
    ("png", lambda: samples.png_bomb(30_000, 30_000), 30_000, 30_000),
    ("gif", lambda: gif_bomb(30_000, 30_000), 30_000, 30_000),
    ("jpeg", lambda: jpeg_bomb(30_000, 30_000), 30_000, 30_000),
    ("webp", lambda: webp_bomb(16_383, 16_383), 16_383, 16_383),  # WebP's largest canvas
]


@pytest.mark.parametrize(("name", "make", "width", "height"), BOMBS, ids=[row[0] for row in BOMBS])
def test_an_image_that_decodes_to_gigapixels_is_refused_from_its_header(auth_client, name, make, width, height):
    bomb = make()
    assert len(bomb) < 2_000  # bytes, for width x height pixels
    response = upload(auth_client, bomb, f"bomb.{name}")
    assert response.status_code == 400, response.json()
    error = response.json()
    assert (error["code"], error["message"]) == ("image_too_large", "The image has too many pixels.")
    # Pillow refuses past twice its limit while reading the header; below that, the upload does.
    assert error["details"]["max_pixels"] == 40_000_000
    assert error["details"].get("width", width) == width and error["details"].get("height", height) == height
    assert not Attachment.objects.exists()


@pytest.mark.parametrize("chunk_type", [b"iCCP", b"zTXt", b"iTXt"])
def test_a_png_chunk_that_inflates_to_megabytes_is_refused(auth_client, chunk_type):
    inflating = zlib.compress(b"\x00" * 16_000_000, 9)  # 16 MB from about 16 KB
    body = {b"iCCP": b"icc\x00\x00", b"zTXt": b"key\x00\x00", b"iTXt": b"key\x00\x01\x00\x00\x00"}[chunk_type]
    png = samples.image_bytes("PNG", size=(8, 8))
    after_header = 8 + 25  # signature, IHDR
    bomb = png[:after_header] + _chunk(chunk_type, body + inflating) + png[after_header:]
    response = upload(auth_client, bomb, "chunky.png")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_file"
    assert not Attachment.objects.exists()


def test_image_data_that_inflates_past_the_picture_is_not_read(auth_client):
    rows = b"".join(b"\x00" + b"\x7f" * 8 * 4 for _ in range(8))  # an 8 x 8 RGBA picture
    header = struct.pack(">IIBBBBB", 8, 8, 8, 6, 0, 0, 0)
    data = zlib.compress(rows + b"\x00" * 50_000_000, 9)  # and 50 MB more
    png = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", data) + _chunk(b"IEND", b"")
    body = upload(auth_client, png, "padded.png").json()
    assert (body["width"], body["height"]) == (8, 8)
    assert body["size"] < 1_000  # what is stored is the 8 x 8 picture, encoded again


# --- other things disguised as images --------------------------------------------------------------


def _zip() -> bytes:
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("index.html", SCRIPT)
    return out.getvalue()


DISGUISED = [
    ("zip", _zip, "cat.jpg", "image/jpeg", "application/zip"),
    ("svg", lambda: b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "cat.png", "image/png", None),
    (
        "svg-prolog",
        lambda: b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>',
        "a.svg",
        "image/svg+xml",
        None,
    ),
    ("html", lambda: b"<!doctype html><html>" + SCRIPT + b"</html>", "cat.gif", "image/gif", None),
    ("html-bom", lambda: b"\xef\xbb\xbf<html>" + SCRIPT, "cat.webp", "image/webp", None),
]


@pytest.mark.parametrize(("name", "make", "filename", "claimed", "detected"), DISGUISED, ids=[r[0] for r in DISGUISED])
def test_a_non_image_named_and_sent_as_an_image_is_refused(auth_client, name, make, filename, claimed, detected):
    response = upload(auth_client, make(), filename, content_type=claimed)
    assert response.status_code == 400
    assert response.json() == {
        "code": "unsupported_type",
        "message": "This file type is not allowed.",
        "details": {"detected": detected},
    }
    assert not Attachment.objects.exists()


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("jpeg-signature-then-html", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"<html>" + SCRIPT),
        ("gif-header-then-javascript", b"GIF89a/*\x00\x00\x00\x00*/=1;alert(document.domain)//"),
        ("png-signature-then-html", b"\x89PNG\r\n\x1a\n<html>" + SCRIPT),
    ],
)
def test_markup_behind_an_image_signature_is_refused(auth_client, name, content):
    response = upload(auth_client, content, f"{name}.img")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_file"
    assert not Attachment.objects.exists()


# --- polyglots: a real image that is also something else ------------------------------------------


def _png_with_text() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", SCRIPT.decode())
    info.add_itxt("XML:com.adobe.xmp", XMP.decode())
    return _save(Image.new("RGBA", (40, 30), (10, 20, 30, 255)), "PNG", pnginfo=info, exif=_exif())


POLYGLOTS = [
    ("jpeg+zip", lambda: samples.image_bytes("JPEG") + _zip(), "image/jpeg"),
    ("png+html", lambda: _png_with_text() + b"<html>" + SCRIPT, "image/png"),
    ("gif+script-comment", lambda: _save(Image.new("P", (40, 30)), "GIF", comment=SCRIPT) + SCRIPT, "image/gif"),
    ("webp+zip", lambda: samples.image_bytes("WEBP") + _zip(), "image/webp"),
]


@pytest.mark.parametrize(("name", "make", "content_type"), POLYGLOTS, ids=[row[0] for row in POLYGLOTS])
def test_an_image_that_is_also_another_file_is_stored_as_the_image_only(auth_client, name, make, content_type):
    original = make()
    assert SCRIPT in original or b"PK\x03\x04" in original
    body = upload(auth_client, original, "photo.bin").json()
    assert body["content_type"] == content_type
    for stored in (stored_bytes(body["id"]), stored_bytes(body["id"], thumbnail=True)):
        assert SCRIPT not in stored and b"PK\x03\x04" not in stored and b"<html>" not in stored
        assert Image.open(io.BytesIO(stored)).format in {content_type.split("/")[1].upper(), "WEBP"}


@pytest.mark.parametrize(
    ("name", "make", "content_type"),
    [
        ("pdf+html", lambda: samples.pdf_bytes() + b"<html>" + SCRIPT + b"</html>", "application/pdf"),
        ("mp4+html", lambda: samples.mp4_bytes() + b"<html>" + SCRIPT + b"</html>", "video/mp4"),
    ],
)
def test_a_stored_polyglot_is_served_so_that_no_browser_runs_it(auth_client, name, make, content_type):
    # Non-images are stored byte for byte; the download is what keeps the other reading inert.
    body = upload(auth_client, make(), "page.html").json()
    assert body["content_type"] == content_type
    assert body["original_filename"] != "page.html"  # the extension follows the bytes
    response = auth_client.get(body["url"])
    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"


# --- metadata that could survive ------------------------------------------------------------------


def _mpo() -> bytes:
    """A multi-picture JPEG (as phones write, with a depth map or preview); EXIF on both pictures."""
    first, second = Image.new("RGB", (40, 30), (200, 0, 0)), Image.new("RGB", (40, 30), (0, 0, 200))
    return _save(first, "MPO", save_all=True, append_images=[second], exif=_exif())


def _icc_with_payload() -> bytes:
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes() + MARKER
    return _save(Image.new("RGB", (40, 30), (200, 30, 30)), "JPEG", icc_profile=profile)


CARRIERS = [
    ("jpeg-exif", lambda: _save(Image.new("RGB", (40, 30)), "JPEG", exif=_exif()), "image/jpeg"),
    ("jpeg-xmp", lambda: _save(Image.new("RGB", (40, 30)), "JPEG", xmp=XMP), "image/jpeg"),
    ("jpeg-comment", lambda: _save(Image.new("RGB", (40, 30)), "JPEG", comment=MARKER), "image/jpeg"),
    ("jpeg-icc-profile", _icc_with_payload, "image/jpeg"),
    ("mpo-second-picture", _mpo, "image/jpeg"),
    ("png-exif-text-xmp", _png_with_text, "image/png"),
    ("webp-exif-xmp", lambda: _save(Image.new("RGB", (40, 30)), "WEBP", exif=_exif(), xmp=XMP), "image/webp"),
    ("gif-comment", lambda: _save(Image.new("P", (40, 30)), "GIF", comment=MARKER), "image/gif"),
]


@pytest.mark.parametrize(("name", "make", "content_type"), CARRIERS, ids=[row[0] for row in CARRIERS])
def test_no_metadata_block_survives(auth_client, name, make, content_type):
    original = make()
    assert MARKER in original or b"GPSLatitude" in original  # the sample really carries it
    response = upload(auth_client, original, "photo")
    assert response.status_code == 201, response.json()
    assert response.json()["content_type"] == content_type
    for stored in (stored_bytes(response.json()["id"]), stored_bytes(response.json()["id"], thumbnail=True)):
        assert MARKER not in stored and b"GPSLatitude" not in stored and b"Exif\x00\x00" not in stored
        image = Image.open(io.BytesIO(stored))
        assert not image.getexif()
        assert not {"exif", "xmp", "icc_profile", "comment", "mp", "mpinfo"} & set(image.info)
        assert getattr(image, "n_frames", 1) == 1


def test_a_photo_with_a_colour_profile_keeps_its_colours_in_srgb(auth_client):
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    original = _save(Image.new("RGB", (40, 30), (200, 30, 30)), "PNG", icc_profile=profile)
    stored = Image.open(io.BytesIO(stored_bytes(upload(auth_client, original, "red.png").json()["id"])))
    assert "icc_profile" not in stored.info
    assert all(abs(a - b) <= 2 for a, b in zip(stored.convert("RGB").getpixel((5, 5)), (200, 30, 30), strict=True))


def test_a_photo_with_an_unreadable_colour_profile_is_kept_without_it(auth_client):
    original = _save(Image.new("RGB", (40, 30), (200, 30, 30)), "JPEG", icc_profile=b"not a profile " + MARKER)
    body = upload(auth_client, original, "odd.jpg").json()
    assert MARKER not in stored_bytes(body["id"])


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def test_mp4_metadata_in_fragments_and_nested_tracks_is_blanked(auth_client):
    location = b"+48.8584+002.2945/"
    meta = _box(b"meta", b"\x00\x00\x00\x00" + _box(b"\xa9xyz", location))
    nested = _box(b"mdia", _box(b"minf", _box(b"udta", _box(b"\xa9xyz", location))))
    fragment = _box(b"moof", _box(b"mfhd", b"\x00" * 8) + _box(b"traf", _box(b"tfhd", b"\x00" * 8) + meta))
    original = samples.mp4_bytes(location=location)
    moov_at = original.find(b"moov") - 4
    (moov_size,) = struct.unpack(">I", original[moov_at : moov_at + 4])
    moov = original[moov_at : moov_at + moov_size]
    trak_at = moov.find(b"trak") - 4
    (trak_size,) = struct.unpack(">I", moov[trak_at : trak_at + 4])
    trak = moov[trak_at : trak_at + trak_size]
    bigger_trak = _box(b"trak", trak[8:] + nested)
    new_moov = _box(b"moov", moov[8:trak_at] + bigger_trak + moov[trak_at + trak_size :])
    video = original[:moov_at] + new_moov + fragment + original[moov_at + moov_size :]
    assert video.count(location) == 3

    body = upload(auth_client, video, "clip.mp4").json()
    stored = stored_bytes(body["id"])
    assert len(stored) == len(video)  # blanked in place: no offset moved
    assert location not in stored
    assert body["duration_seconds"] == 2.5
