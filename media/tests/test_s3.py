"""The S3 path against a real S3 HTTP endpoint on loopback (moto's standalone server).

moto checks object ACLs for anonymous requests but not presigned signatures or their expiry, so
those are verified here the way S3 does it: the signature is recomputed with botocore from the
secret key, and the validity window is X-Amz-Date + X-Amz-Expires.
"""

import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from email.message import Message
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import pytest
from botocore.auth import S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from accounts.tests.factories import UserFactory
from conftest import auth_client_for
from media.models import Attachment
from media.services import attachment_cleanup_unattached
from media.storage import SIGNED_URLS
from media.tests import samples
from media.tests.conftest import S3_ACCESS_KEY, S3_REGION, S3_SECRET_KEY, s3_storage_settings
from media.tests.test_api_upload import upload
from messenger.tests.environment import settings_for

pytestmark = pytest.mark.django_db


def http_get(url: str) -> tuple[int, Message, bytes]:
    """A plain HTTP GET, as a browser following the redirect would do (headers case-insensitive)."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback test server
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def presigned_url_valid(url: str, *, now: datetime) -> bool:
    """What S3 checks before serving a presigned GET: the signature, then the time window."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    params = dict(query)
    unsigned = urlencode([(k, v) for k, v in query if k != "X-Amz-Signature"], quote_via=quote)
    request = AWSRequest(method="GET", url=urlunsplit((parts.scheme, parts.netloc, parts.path, unsigned, "")))
    request.context["timestamp"] = params["X-Amz-Date"]
    auth = S3SigV4QueryAuth(Credentials(S3_ACCESS_KEY, S3_SECRET_KEY), "s3", S3_REGION, expires=0)
    expected = auth.signature(auth.string_to_sign(request, auth.canonical_request(request)), request)
    signed_at = datetime.strptime(params["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    expires_at = signed_at + timedelta(seconds=int(params["X-Amz-Expires"]))
    return expected == params["X-Amz-Signature"] and signed_at - timedelta(minutes=15) <= now <= expires_at


@pytest.fixture
def uploaded_photo(s3_storage, auth_client):
    response = upload(auth_client, samples.jpeg_with_gps(size=(640, 480)), "Café photo.jpg")
    assert response.status_code == 201, response.json()
    return Attachment.objects.get(pk=response.json()["id"])


class TestS3RoundTrip:
    def test_upload_lands_in_the_private_bucket(self, uploaded_photo, s3_client, s3_storage):
        head = s3_client.head_object(Bucket=s3_storage, Key=uploaded_photo.storage_key)
        assert head["ContentType"] == "image/jpeg"
        assert head["ContentLength"] == uploaded_photo.size
        thumbnail = s3_client.head_object(Bucket=s3_storage, Key=uploaded_photo.thumbnail_key)
        assert thumbnail["ContentType"] == "image/webp"
        acl = s3_client.get_object_acl(Bucket=s3_storage, Key=uploaded_photo.storage_key)
        assert all(grant["Grantee"].get("URI") is None for grant in acl["Grants"])  # no AllUsers grant

    def test_download_redirects_to_a_presigned_url_serving_the_same_bytes(
        self, uploaded_photo, auth_client, s3_client, s3_storage
    ):
        response = auth_client.get(f"/api/v1/media/{uploaded_photo.pk}/download")
        assert response.status_code == 302
        assert response["Cache-Control"] == "private, no-store"
        status, headers, body = http_get(response["Location"])
        assert status == 200
        stored = s3_client.get_object(Bucket=s3_storage, Key=uploaded_photo.storage_key)["Body"].read()
        assert body == stored and len(body) == uploaded_photo.size
        assert headers["Content-Type"] == "image/jpeg"
        assert headers["Content-Disposition"] == (
            "attachment; filename=\"Cafe photo.jpg\"; filename*=UTF-8''Caf%C3%A9%20photo.jpg"
        )

    def test_thumbnail_redirect(self, uploaded_photo, auth_client):
        response = auth_client.get(f"/api/v1/media/{uploaded_photo.pk}/thumbnail")
        assert response.status_code == 302
        status, headers, body = http_get(response["Location"])
        assert status == 200
        assert headers["Content-Type"] == "image/webp"
        assert body[8:12] == b"WEBP"

    def test_bucket_is_not_public(self, uploaded_photo, s3_endpoint, s3_storage):
        status, _, _ = http_get(f"{s3_endpoint}/{s3_storage}/{uploaded_photo.storage_key}")
        assert status == 403

    def test_non_member_gets_404_not_a_url(self, uploaded_photo):
        outsider = auth_client_for(UserFactory())[0]
        response = outsider.get(f"/api/v1/media/{uploaded_photo.pk}/download")
        assert response.status_code == 404
        assert "Location" not in response


class TestPresignedUrl:
    def test_expiry_is_the_setting(self, settings, uploaded_photo, auth_client):
        settings.S3_URL_EXPIRE_SECONDS = 123
        location = auth_client.get(f"/api/v1/media/{uploaded_photo.pk}/download")["Location"]
        params = dict(parse_qsl(urlsplit(location).query))
        assert params["X-Amz-Expires"] == "123"
        signed_at = datetime.strptime(params["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        assert abs((datetime.now(UTC) - signed_at).total_seconds()) < 60

    def test_url_is_valid_now_and_refused_after_it_expires(self, settings, uploaded_photo, auth_client):
        settings.S3_URL_EXPIRE_SECONDS = 1
        location = auth_client.get(f"/api/v1/media/{uploaded_photo.pk}/download")["Location"]
        now = datetime.now(UTC)
        assert presigned_url_valid(location, now=now)
        assert not presigned_url_valid(location, now=now + timedelta(seconds=3))

    def test_disposition_and_type_are_covered_by_the_signature(self, uploaded_photo, auth_client):
        location = auth_client.get(f"/api/v1/media/{uploaded_photo.pk}/download")["Location"]
        params = dict(parse_qsl(urlsplit(location).query))
        assert params["response-content-disposition"].startswith("attachment;")
        assert params["response-content-type"] == "image/jpeg"
        now = datetime.now(UTC)
        assert presigned_url_valid(location, now=now)
        inline = location.replace("response-content-disposition=attachment", "response-content-disposition=inline")
        as_html = location.replace("response-content-type=image%2Fjpeg", "response-content-type=text%2Fhtml")
        assert inline != location and as_html != location
        assert not presigned_url_valid(inline, now=now)
        assert not presigned_url_valid(as_html, now=now)


class TestS3Cleanup:
    def test_cleanup_deletes_the_objects(
        self, uploaded_photo, s3_client, s3_storage, django_capture_on_commit_callbacks
    ):
        keys = {uploaded_photo.storage_key, uploaded_photo.thumbnail_key}
        Attachment.objects.filter(pk=uploaded_photo.pk).update(created_at=datetime.now(UTC) - timedelta(days=2))
        with django_capture_on_commit_callbacks(execute=True):
            deleted = attachment_cleanup_unattached(created_before=datetime.now(UTC) - timedelta(days=1))
        assert deleted == 1
        remaining = {item["Key"] for item in s3_client.list_objects_v2(Bucket=s3_storage).get("Contents", [])}
        assert not keys & remaining


class TestPublicEndpoint:
    """Download URLs are signed for S3_PUBLIC_ENDPOINT_URL; objects still go over S3_ENDPOINT_URL."""

    def test_settings_sign_for_the_public_endpoint_and_store_over_the_internal_one(self, monkeypatch):
        env = {"S3_BUCKET": "messenger", "S3_ENDPOINT_URL": "http://minio:9000"}
        public = settings_for({**env, "S3_PUBLIC_ENDPOINT_URL": "https://chat.example.com"}, monkeypatch)
        assert public["STORAGES"]["default"]["OPTIONS"]["endpoint_url"] == "http://minio:9000"
        signer = public["STORAGES"][SIGNED_URLS]
        assert signer["OPTIONS"] == {
            **public["STORAGES"]["default"]["OPTIONS"],
            "endpoint_url": "https://chat.example.com",
        }
        # Without a public endpoint, URLs name the one the app uses (AWS S3, or a reachable MinIO).
        internal = settings_for(env, monkeypatch)["STORAGES"]
        assert internal[SIGNED_URLS]["OPTIONS"]["endpoint_url"] == "http://minio:9000"
        # Local files: no bucket, nothing to sign.
        assert SIGNED_URLS not in settings_for({}, monkeypatch)["STORAGES"]

    def test_download_redirect_names_the_public_host_and_is_valid_there(
        self, settings, uploaded_photo, auth_client, s3_client, s3_storage, s3_endpoint
    ):
        # The same moto server under another name: what the client reaches, not what the app uses.
        public = s3_endpoint.replace("127.0.0.1", "localhost")
        settings.STORAGES = {**settings.STORAGES, SIGNED_URLS: s3_storage_settings(s3_storage, endpoint_url=public)}
        location = auth_client.get(f"/api/v1/media/{uploaded_photo.pk}/download")["Location"]
        assert urlsplit(location).netloc == urlsplit(public).netloc
        assert urlsplit(location).path == f"/{s3_storage}/{uploaded_photo.storage_key}"
        assert presigned_url_valid(location, now=datetime.now(UTC))  # the signature covers this host
        status, _, body = http_get(location)
        assert status == 200
        assert body == s3_client.get_object(Bucket=s3_storage, Key=uploaded_photo.storage_key)["Body"].read()
        thumbnail = auth_client.get(f"/api/v1/media/{uploaded_photo.pk}/thumbnail")["Location"]
        assert urlsplit(thumbnail).netloc == urlsplit(public).netloc

    def test_a_url_signed_for_the_internal_host_is_not_valid_for_the_public_one(
        self, settings, uploaded_photo, auth_client, s3_storage, s3_endpoint
    ):
        internal = auth_client.get(f"/api/v1/media/{uploaded_photo.pk}/download")["Location"]
        rewritten = internal.replace("127.0.0.1", "localhost", 1)
        assert presigned_url_valid(internal, now=datetime.now(UTC))
        assert not presigned_url_valid(rewritten, now=datetime.now(UTC))
