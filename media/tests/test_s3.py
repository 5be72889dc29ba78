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
from media.tests import samples
from media.tests.conftest import S3_ACCESS_KEY, S3_REGION, S3_SECRET_KEY
from media.tests.test_api_upload import upload

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
