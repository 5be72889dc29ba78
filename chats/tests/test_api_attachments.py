"""Messages that carry attachments, and who may then fetch them."""

import pytest

from accounts.tests.factories import UserFactory
from chats.tests.factories import direct_chat
from conftest import auth_client_for
from media.tests.factories import ImageAttachmentFactory

pytestmark = pytest.mark.django_db


def client_for(user):
    return auth_client_for(user)[0]


def test_message_with_attachment_is_visible_to_members_only(user, other_user):
    chat = direct_chat(user, other_user)
    photo = ImageAttachmentFactory(uploader=user)
    sent = client_for(user).post(
        f"/api/v1/chats/{chat.id}/messages",
        {"client_id": "p1", "text": "", "attachment_ids": [str(photo.id)]},
        format="json",
    )
    assert sent.status_code == 201, sent.json()
    [attachment] = sent.json()["attachments"]
    assert attachment["id"] == str(photo.id) and attachment["kind"] == "image"
    assert attachment["url"] == f"/api/v1/media/{photo.id}/download"
    # The recipient can now fetch it; a stranger cannot.
    assert client_for(other_user).get(f"/api/v1/media/{photo.id}").status_code == 200
    stranger = client_for(UserFactory())
    assert stranger.get(f"/api/v1/media/{photo.id}").status_code == 404
    assert stranger.get(f"/api/v1/media/{photo.id}/download").status_code == 404


def test_cannot_attach_someone_elses_upload(user, other_user):
    chat = direct_chat(user, other_user)
    theirs = ImageAttachmentFactory(uploader=other_user)
    response = client_for(user).post(
        f"/api/v1/chats/{chat.id}/messages",
        {"client_id": "p2", "text": "look", "attachment_ids": [str(theirs.id)]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "attachment_not_found"
    assert chat.__class__.objects.get(pk=chat.pk).last_seq == 0  # nothing stored, no seq used


def test_deleted_message_hides_its_attachments(user, other_user):
    chat = direct_chat(user, other_user)
    photo = ImageAttachmentFactory(uploader=user)
    client = client_for(user)
    message = client.post(
        f"/api/v1/chats/{chat.id}/messages", {"client_id": "p3", "attachment_ids": [str(photo.id)]}, format="json"
    ).json()
    client.delete(f"/api/v1/chats/{chat.id}/messages/{message['id']}")
    [stored] = client_for(other_user).get(f"/api/v1/chats/{chat.id}/messages").json()["results"]
    assert stored["attachments"] == [] and stored["deleted"] is True
    assert client_for(other_user).get(f"/api/v1/media/{photo.id}").status_code == 404


def test_chat_avatar(user, other_user):
    from chats.tests.factories import group_chat

    chat = group_chat(user, [other_user])
    photo = ImageAttachmentFactory(uploader=user)
    client = client_for(user)
    body = client.patch(f"/api/v1/chats/{chat.id}", {"avatar_id": str(photo.id)}, format="json").json()
    assert body["avatar"] == {
        "id": str(photo.id),
        "url": f"/api/v1/media/{photo.id}/download",
        "thumbnail_url": f"/api/v1/media/{photo.id}/thumbnail",
    }
    # Members can fetch the chat's picture.
    assert client_for(other_user).get(f"/api/v1/media/{photo.id}").status_code == 200
    theirs = ImageAttachmentFactory(uploader=other_user)
    refused = client.patch(f"/api/v1/chats/{chat.id}", {"avatar_id": str(theirs.id)}, format="json")
    assert refused.status_code == 400 and refused.json()["code"] == "invalid_avatar"
    assert client.patch(f"/api/v1/chats/{chat.id}", {"avatar_id": None}, format="json").json()["avatar"] is None
