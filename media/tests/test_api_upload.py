"""POST /api/v1/media: the allow-list, limits, quota and image cleaning."""

import io

import pytest
from asgiref.sync import sync_to_async
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connections
from django.test import AsyncClient
from PIL import Image

from conftest import auth_client_for
from media.api.upload_handlers import UploadLimitHandler
from media.models import Attachment
from media.storage import storage_open
from media.tests import samples
from media.tests.factories import AttachmentFactory
from messenger.errors import ApplicationError

pytestmark = pytest.mark.django_db


def upload(client, content: bytes, name: str, content_type: str = "application/octet-stream", **extra):
    file = SimpleUploadedFile(name, content, content_type=content_type)
    return client.post("/api/v1/media", {"file": file}, format="multipart", **extra)


def stored_bytes(attachment_id, *, thumbnail: bool = False) -> bytes:
    attachment = Attachment.objects.get(pk=attachment_id)
    with storage_open(attachment.thumbnail_key if thumbnail else attachment.storage_key) as file:
        return file.read()


ALLOWED = [
    # (bytes, client name, stored content type, kind)
    (lambda: samples.image_bytes("JPEG"), "a.jpg", "image/jpeg", "image"),
    (lambda: samples.image_bytes("PNG"), "a.png", "image/png", "image"),
    (lambda: samples.image_bytes("WEBP"), "a.webp", "image/webp", "image"),
    (lambda: samples.image_bytes("GIF"), "a.gif", "image/gif", "image"),
    (samples.mp4_bytes, "a.mp4", "video/mp4", "video"),
    (lambda: samples.mp4_bytes(major_brand=b"qt  ", compatible_brands=b"qt  "), "a.mov", "video/quicktime", "video"),
    (samples.webm_bytes, "a.webm", "video/webm", "video"),
    (samples.mp3_bytes, "a.mp3", "audio/mpeg", "audio"),
    (samples.ogg_opus_bytes, "voice.ogg", "audio/ogg", "audio"),
    (
        lambda: samples.mp4_bytes(major_brand=b"M4A ", compatible_brands=b"M4A isom", width=0, height=0),
        "a.m4a",
        "audio/mp4",
        "audio",
    ),
    (samples.aac_bytes, "a.aac", "audio/aac", "audio"),
    (samples.wav_bytes, "a.wav", "audio/wav", "audio"),
    (samples.pdf_bytes, "a.pdf", "application/pdf", "file"),
]


class TestAllowList:
    @pytest.mark.parametrize(("make", "name", "content_type", "kind"), ALLOWED, ids=[row[1] for row in ALLOWED])
    def test_each_allowed_type(self, auth_client, user, make, name, content_type, kind):
        response = upload(auth_client, make(), name)
        assert response.status_code == 201, response.json()
        body = response.json()
        assert (body["content_type"], body["kind"], body["original_filename"]) == (content_type, kind, name)
        attachment = Attachment.objects.get(pk=body["id"])
        assert attachment.uploader == user
        assert body["size"] == attachment.size == len(stored_bytes(attachment.pk))
        assert body["url"] == f"/api/v1/media/{attachment.pk}/download"
        assert (body["thumbnail_url"] is not None) == (kind == "image")

    def test_type_comes_from_bytes_not_name_or_claim(self, auth_client):
        response = upload(auth_client, samples.pdf_bytes(), "holiday.jpg", content_type="image/jpeg")
        assert response.status_code == 201
        body = response.json()
        assert (body["content_type"], body["kind"]) == ("application/pdf", "file")
        assert body["original_filename"] == "holiday.pdf"

    def test_renamed_executable_claiming_jpeg_is_refused(self, auth_client):
        response = upload(auth_client, samples.elf_bytes(), "cat.jpg", content_type="image/jpeg")
        assert response.status_code == 400
        assert response.json()["code"] == "unsupported_type"
        assert not Attachment.objects.exists()

    @pytest.mark.parametrize(
        "content",
        [b"<html><script>alert(1)</script></html>", b'<svg xmlns="http://www.w3.org/2000/svg"/>', b"just text"],
        ids=["html", "svg", "text"],
    )
    def test_markup_and_text_are_refused(self, auth_client, content):
        response = upload(auth_client, content, "page.html", content_type="text/html")
        assert response.json()["code"] == "unsupported_type"

    def test_damaged_image_is_refused(self, auth_client):
        broken = samples.image_bytes("PNG")[:60] + b"\x00" * 200
        response = upload(auth_client, broken, "broken.png")
        assert response.status_code == 400
        assert response.json()["code"] == "invalid_file"

    def test_missing_or_empty_file(self, auth_client):
        assert auth_client.post("/api/v1/media", {}, format="multipart").json()["code"] == "validation_error"
        assert upload(auth_client, b"", "empty.pdf").json()["code"] == "validation_error"

    def test_needs_authentication(self, api_client):
        assert upload(api_client, samples.pdf_bytes(), "a.pdf").status_code == 401


class TestMetadata:
    def test_image_dimensions(self, auth_client):
        body = upload(auth_client, samples.image_bytes("PNG", size=(123, 45)), "wide.png").json()
        assert (body["width"], body["height"], body["duration_seconds"]) == (123, 45, None)

    def test_mp4_duration_and_dimensions(self, auth_client):
        body = upload(auth_client, samples.mp4_bytes(duration_ms=2500, width=640, height=360), "clip.mp4").json()
        assert (body["width"], body["height"], body["duration_seconds"]) == (640, 360, 2.5)

    def test_wav_duration(self, auth_client):
        body = upload(auth_client, samples.wav_bytes(seconds=1.5), "note.wav").json()
        assert body["duration_seconds"] == 1.5

    def test_ogg_opus_duration(self, auth_client):
        body = upload(auth_client, samples.ogg_opus_bytes(seconds=3.0), "voice.ogg").json()
        assert body["duration_seconds"] == 3.0

    @pytest.mark.parametrize("make", [samples.mp3_bytes, samples.webm_bytes], ids=["mp3", "webm"])
    def test_unreadable_duration_is_null(self, auth_client, make):
        body = upload(auth_client, make(), "media.bin").json()
        assert body["duration_seconds"] is None

    def test_mp4_location_box_is_blanked(self, auth_client):
        location = b"+52.5200+013.4050/"
        original = samples.mp4_bytes(location=location)
        body = upload(auth_client, original, "clip.mp4").json()
        stored = stored_bytes(body["id"])
        assert len(stored) == len(original)  # same size: no sample offset moved
        assert location not in stored and b"udta" not in stored and b"\xa9xyz" not in stored
        assert b"free" in stored
        assert body["duration_seconds"] == 2.5  # the rest of the file is untouched


class TestImageCleaning:
    def test_exif_and_gps_are_stripped(self, auth_client):
        original = samples.jpeg_with_gps()
        assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)  # the sample really has GPS
        body = upload(auth_client, original, "home.jpg").json()
        stored = Image.open(io.BytesIO(stored_bytes(body["id"])))
        assert not stored.getexif()
        assert "exif" not in stored.info and "comment" not in stored.info
        raw = stored_bytes(body["id"])
        assert b"SpyCam" not in raw and b"SERIAL-12345" not in raw and b"taken at home" not in raw

    def test_orientation_is_applied_before_exif_goes(self, auth_client):
        exif = Image.Exif()
        exif[0x0112] = 6  # rotate 90 degrees clockwise when shown
        body = upload(auth_client, samples.image_bytes("JPEG", size=(80, 40), exif=exif), "turned.jpg").json()
        assert (body["width"], body["height"]) == (40, 80)

    def test_thumbnail_fits_in_320_pixels(self, auth_client):
        body = upload(auth_client, samples.image_bytes("JPEG", size=(1000, 500)), "big.jpg").json()
        thumbnail = Image.open(io.BytesIO(stored_bytes(body["id"], thumbnail=True)))
        assert thumbnail.format == "WEBP"
        assert thumbnail.size == (320, 160)
        assert body["thumbnail_url"] == f"/api/v1/media/{body['id']}/thumbnail"

    def test_small_image_thumbnail_is_not_enlarged(self, auth_client):
        body = upload(auth_client, samples.image_bytes("PNG", size=(30, 20)), "tiny.png").json()
        assert Image.open(io.BytesIO(stored_bytes(body["id"], thumbnail=True))).size == (30, 20)

    def test_animated_gif_keeps_its_frames(self, auth_client):
        body = upload(auth_client, samples.animated_gif(frames=3), "dance.gif").json()
        stored = Image.open(io.BytesIO(stored_bytes(body["id"])))
        assert stored.format == "GIF"
        assert stored.n_frames == 3

    def test_pixel_bomb_is_refused(self, auth_client):
        bomb = samples.png_bomb(50_000, 50_000)
        assert len(bomb) < 10_000  # tiny file, 2.5 gigapixels
        response = upload(auth_client, bomb, "bomb.png")
        assert response.status_code == 400
        assert response.json()["code"] == "image_too_large"

    def test_pixel_limit_is_the_setting(self, auth_client, settings):
        settings.MEDIA_MAX_IMAGE_PIXELS = 100 * 100
        assert upload(auth_client, samples.image_bytes("PNG", size=(100, 100)), "ok.png").status_code == 201
        response = upload(auth_client, samples.image_bytes("PNG", size=(101, 100)), "big.png")
        assert response.json()["code"] == "image_too_large"

    def test_animation_pixels_count_every_frame(self, auth_client, settings):
        settings.MEDIA_MAX_IMAGE_PIXELS = 20 * 10 * 2
        response = upload(auth_client, samples.animated_gif(frames=3, size=(20, 10)), "long.gif")
        assert response.json()["code"] == "image_too_large"


class TestLimits:
    def test_file_over_the_limit_of_its_kind(self, auth_client, settings):
        settings.MEDIA_MAX_UPLOAD_BYTES = {**settings.MEDIA_MAX_UPLOAD_BYTES, "file": 1000}
        response = upload(auth_client, samples.pdf_bytes() + b"\x00" * 2000, "big.pdf")
        assert response.status_code == 413
        body = response.json()
        assert body["code"] == "file_too_large"
        assert body["details"] == {"kind": "file", "max_bytes": 1000}
        assert not Attachment.objects.exists()

    def test_limit_is_per_kind(self, auth_client, settings):
        settings.MEDIA_MAX_UPLOAD_BYTES = {**settings.MEDIA_MAX_UPLOAD_BYTES, "file": 1000}
        assert upload(auth_client, samples.wav_bytes(seconds=1), "long.wav").status_code == 201

    def test_declared_length_over_every_limit_is_refused_before_reading(self, auth_client):
        # The test client's payload raises if read past its real end, so a 2 GB claim that were
        # read would fail differently: this is refused on the header alone.
        response = upload(auth_client, samples.pdf_bytes(), "a.pdf", CONTENT_LENGTH=str(2 * 1024**3))
        assert response.status_code == 413
        assert response.json()["code"] == "file_too_large"

    def test_handler_stops_mid_stream_once_the_kind_is_known(self, settings):
        settings.MEDIA_MAX_UPLOAD_BYTES = {**settings.MEDIA_MAX_UPLOAD_BYTES, "image": 20_000}
        handler = UploadLimitHandler(None, quota_bytes=10**9, used_bytes=0)
        handler.new_file("file", "x.png", "image/png", None)
        content = samples.image_bytes("PNG", size=(10, 10)) + b"\x00" * 50_000
        chunks = [content[start : start + 8192] for start in range(0, len(content), 8192)]
        passed = 0
        with pytest.raises(ApplicationError) as refused:
            for start, chunk in zip(range(0, len(content), 8192), chunks, strict=True):
                handler.receive_data_chunk(chunk, start)
                passed += len(chunk)
        assert refused.value.code == "file_too_large"
        assert passed < 20_000 + 8192  # stopped at the first chunk past the limit, not at the end

    def test_handler_refuses_a_disallowed_type_from_its_first_bytes(self):
        handler = UploadLimitHandler(None, quota_bytes=10**9, used_bytes=0)
        handler.new_file("file", "x.jpg", "image/jpeg", None)
        with pytest.raises(ApplicationError) as refused:
            handler.receive_data_chunk(samples.elf_bytes() + b"\x00" * 9000, 0)
        assert refused.value.code == "unsupported_type"

    def test_handler_counts_the_quota(self):
        handler = UploadLimitHandler(None, quota_bytes=10_000, used_bytes=9_000)
        handler.new_file("file", "x.pdf", "application/pdf", None)
        with pytest.raises(ApplicationError) as refused:
            handler.receive_data_chunk(samples.pdf_bytes() + b"\x00" * 2000, 0)
        assert refused.value.code == "quota_exceeded"


class TestQuota:
    def test_upload_past_the_quota_is_refused(self, auth_client, user, settings):
        settings.MEDIA_USER_QUOTA_BYTES = 5000
        AttachmentFactory(uploader=user, content=b"%PDF-" + b"x" * 4000)
        response = upload(auth_client, samples.pdf_bytes() + b"\x00" * 1500, "more.pdf")
        assert response.status_code == 413
        body = response.json()
        assert body["code"] == "quota_exceeded"
        assert body["details"]["quota_bytes"] == 5000
        assert body["details"]["used_bytes"] == 4005
        assert Attachment.objects.count() == 1

    def test_quota_is_per_user(self, auth_client, other_user, settings):
        settings.MEDIA_USER_QUOTA_BYTES = 5000
        AttachmentFactory(uploader=other_user, content=b"%PDF-" + b"x" * 4900)
        assert upload(auth_client, samples.pdf_bytes() + b"\x00" * 1500, "mine.pdf").status_code == 201


class TestFilenames:
    def test_path_traversal_name_is_stored_under_a_server_key(self, auth_client, local_storage):
        body = upload(auth_client, samples.image_bytes("JPEG"), "../../etc/passwd.jpg").json()
        attachment = Attachment.objects.get(pk=body["id"])
        assert body["original_filename"] == "passwd.jpg"
        assert attachment.storage_key == f"attachments/{attachment.pk.hex[:2]}/{attachment.pk.hex}.jpg"
        assert (local_storage / attachment.storage_key).is_file()
        assert not any(".." in part for part in attachment.storage_key.split("/"))

    def test_extension_follows_the_detected_type(self, auth_client):
        body = upload(auth_client, samples.pdf_bytes(), "invoice.html").json()
        assert body["original_filename"] == "invoice.pdf"


@pytest.mark.django_db(transaction=True)
class TestThroughAsgi:
    """The production path: Django's ASGI handler (as under daphne), not the WSGI-style test client."""

    async def test_upload_and_early_refusal(self, user, settings):
        _, _, pair = await sync_to_async(auth_client_for)(user)
        client = AsyncClient()
        auth = {"authorization": f"Bearer {pair.access}"}
        png = SimpleUploadedFile("a.png", samples.image_bytes("PNG"))
        created = await client.post("/api/v1/media", {"file": png}, headers=auth)
        assert created.status_code == 201
        settings.MEDIA_MAX_UPLOAD_BYTES = dict.fromkeys(settings.MEDIA_MAX_UPLOAD_BYTES, 1000)
        big = SimpleUploadedFile("a.pdf", samples.pdf_bytes() + b"\x00" * 40_000)
        refused = await client.post("/api/v1/media", {"file": big}, headers=auth)
        assert refused.status_code == 413
        assert refused.json()["code"] == "file_too_large"
        assert refused.json()["details"]["kind"] is None  # refused on Content-Length, before parsing
        # The views ran on asgiref's worker thread; its persistent connection would outlive the test DB.
        await sync_to_async(connections.close_all)()
