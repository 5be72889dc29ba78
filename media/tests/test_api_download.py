"""GET /api/v1/media/{id}[/download|/thumbnail] on local storage: who may fetch, and how it is served."""

import uuid

import pytest

from accounts.tests.factories import UserFactory
from conftest import auth_client_for
from media.storage import storage_open
from media.tests.conftest import share_in_chat
from media.tests.factories import AttachmentFactory, ImageAttachmentFactory

pytestmark = pytest.mark.django_db


def client_for(user):
    return auth_client_for(user)[0]


def attachment_bytes(attachment) -> bytes:
    with storage_open(attachment.storage_key) as file:
        return file.read()


class TestAccess:
    def test_uploader_gets_metadata_file_and_thumbnail(self, auth_client, user):
        attachment = ImageAttachmentFactory(uploader=user)
        assert auth_client.get(f"/api/v1/media/{attachment.pk}").json()["id"] == str(attachment.pk)
        download = auth_client.get(f"/api/v1/media/{attachment.pk}/download")
        assert download.status_code == 200
        assert download.getvalue()[:2] == b"\xff\xd8"
        thumbnail = auth_client.get(f"/api/v1/media/{attachment.pk}/thumbnail")
        assert thumbnail.status_code == 200
        assert thumbnail["Content-Type"] == "image/webp"
        assert thumbnail.getvalue()[8:12] == b"WEBP"

    def test_chat_member_may_fetch_what_was_sent_there(self, user, other_user):
        attachment = AttachmentFactory(uploader=user)
        share_in_chat(attachment, sender=user, members=[other_user])
        member = client_for(other_user)
        assert member.get(f"/api/v1/media/{attachment.pk}").status_code == 200
        assert member.get(f"/api/v1/media/{attachment.pk}/download").status_code == 200

    def test_non_member_is_denied_like_a_missing_id(self, user, other_user):
        attachment = ImageAttachmentFactory(uploader=user)
        share_in_chat(attachment, sender=user, members=[other_user])
        outsider = client_for(UserFactory())
        missing = uuid.uuid4()
        for suffix in ("", "/download", "/thumbnail"):
            denied = outsider.get(f"/api/v1/media/{attachment.pk}{suffix}")
            absent = outsider.get(f"/api/v1/media/{missing}{suffix}")
            assert denied.status_code == absent.status_code == 404
            assert denied.json()["code"] == absent.json()["code"] == "not_found"
            assert denied.json()["message"] == absent.json()["message"]

    def test_unshared_upload_is_private(self, user, other_user):
        attachment = AttachmentFactory(uploader=user)
        assert client_for(other_user).get(f"/api/v1/media/{attachment.pk}/download").status_code == 404

    def test_leaving_the_chat_ends_access(self, user, other_user):
        attachment = AttachmentFactory(uploader=user)
        message = share_in_chat(attachment, sender=user, members=[other_user])
        message.chat.members.filter(user=other_user).delete()
        assert client_for(other_user).get(f"/api/v1/media/{attachment.pk}/download").status_code == 404

    def test_a_users_avatar_is_visible_to_any_authenticated_user(self, user, other_user):
        avatar = ImageAttachmentFactory(uploader=user)
        user.avatar = avatar
        user.save(update_fields=["avatar"])
        assert client_for(other_user).get(f"/api/v1/media/{avatar.pk}/thumbnail").status_code == 200

    def test_a_chat_avatar_is_visible_to_its_members_only(self, user, other_user):
        avatar = ImageAttachmentFactory(uploader=user)
        chat = share_in_chat(AttachmentFactory(uploader=user), sender=user, members=[other_user]).chat
        chat.avatar = avatar
        chat.save(update_fields=["avatar"])
        assert client_for(other_user).get(f"/api/v1/media/{avatar.pk}/thumbnail").status_code == 200
        assert client_for(UserFactory()).get(f"/api/v1/media/{avatar.pk}/thumbnail").status_code == 404

    def test_needs_authentication(self, api_client, user):
        attachment = AttachmentFactory(uploader=user)
        assert api_client.get(f"/api/v1/media/{attachment.pk}/download").status_code == 401

    def test_no_thumbnail_for_non_images(self, auth_client, user):
        attachment = AttachmentFactory(uploader=user)
        response = auth_client.get(f"/api/v1/media/{attachment.pk}/thumbnail")
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
        assert auth_client.get(f"/api/v1/media/{attachment.pk}").json()["thumbnail_url"] is None


class TestServing:
    def test_download_is_an_attachment_never_sniffed(self, auth_client, user):
        attachment = AttachmentFactory(uploader=user, original_filename="report.pdf")
        response = auth_client.get(f"/api/v1/media/{attachment.pk}/download")
        assert response["Content-Type"] == "application/pdf"
        assert response["Content-Disposition"] == "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in response["Content-Security-Policy"]
        assert response.getvalue() == attachment_bytes(attachment)

    def test_disposition_of_an_unusual_name(self, auth_client, user):
        attachment = AttachmentFactory(uploader=user, original_filename='Отчёт "final"\r\n.pdf')
        disposition = auth_client.get(f"/api/v1/media/{attachment.pk}/download")["Content-Disposition"]
        assert "\r" not in disposition and "\n" not in disposition
        fallback = disposition.split('filename="')[1].split('"')[0]
        assert fallback.isascii() and '"' not in fallback
        assert "filename*=UTF-8''%D0%9E%D1%82%D1%87%D1%91%D1%82%20%22final%22" in disposition

    def test_any_accept_header_gets_the_file(self, auth_client, user):
        attachment = ImageAttachmentFactory(uploader=user)
        response = auth_client.get(f"/api/v1/media/{attachment.pk}/download", HTTP_ACCEPT="image/*")
        assert response.status_code == 200

    def test_malformed_id_is_404_json(self, auth_client):
        response = auth_client.get("/api/v1/media/not-a-uuid/download")
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
