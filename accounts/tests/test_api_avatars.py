"""Avatars: PATCH /users/me with avatar_id, and the avatar object in user JSON."""

import pytest

from accounts.tests.factories import UserFactory
from conftest import auth_client_for
from media.tests.factories import AttachmentFactory, ImageAttachmentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}


def avatar_json(attachment) -> dict:
    return {
        "id": str(attachment.pk),
        "url": f"/api/v1/media/{attachment.pk}/download",
        "thumbnail_url": f"/api/v1/media/{attachment.pk}/thumbnail",
    }


def test_no_avatar_is_null(auth_client, other_user):
    assert auth_client.get("/api/v1/users/me").json()["avatar"] is None
    assert auth_client.get(f"/api/v1/users/{other_user.id}").json()["avatar"] is None


def test_set_avatar_to_own_image(auth_client, user):
    image = ImageAttachmentFactory(uploader=user)
    response = auth_client.patch("/api/v1/users/me", {"avatar_id": str(image.pk)}, format="json")
    assert response.status_code == 200
    assert response.json()["avatar"] == avatar_json(image)
    assert "avatar_id" not in response.json()
    user.refresh_from_db()
    assert user.avatar_id == image.pk


def test_avatar_shows_to_others_and_is_fetchable_by_them(auth_client, user, other_user):
    image = ImageAttachmentFactory(uploader=user)
    auth_client.patch("/api/v1/users/me", {"avatar_id": str(image.pk)}, format="json")
    other_client = auth_client_for(other_user)[0]
    profile = other_client.get(f"/api/v1/users/{user.id}").json()
    assert profile["avatar"] == avatar_json(image)
    assert other_client.get(profile["avatar"]["thumbnail_url"]).status_code == 200
    assert other_client.get(profile["avatar"]["url"]).status_code == 200


def test_remove_avatar_with_null(auth_client, user):
    user.avatar = ImageAttachmentFactory(uploader=user)
    user.save(update_fields=["avatar"])
    response = auth_client.patch("/api/v1/users/me", {"avatar_id": None}, format="json")
    assert response.json()["avatar"] is None
    user.refresh_from_db()
    assert user.avatar_id is None


def test_other_fields_leave_the_avatar_alone(auth_client, user):
    image = ImageAttachmentFactory(uploader=user)
    user.avatar = image
    user.save(update_fields=["avatar"])
    auth_client.patch("/api/v1/users/me", {"bio": "hello"}, format="json")
    user.refresh_from_db()
    assert user.avatar_id == image.pk


@pytest.mark.parametrize("case", ["not_an_image", "someone_elses", "unknown"])
def test_invalid_avatar(auth_client, user, other_user, case):
    attachment_id = {
        "not_an_image": lambda: str(AttachmentFactory(uploader=user).pk),
        "someone_elses": lambda: str(ImageAttachmentFactory(uploader=other_user).pk),
        "unknown": lambda: "00000000-0000-0000-0000-000000000000",
    }[case]()
    response = auth_client.patch("/api/v1/users/me", {"avatar_id": attachment_id}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_avatar"
    user.refresh_from_db()
    assert user.avatar_id is None


def test_malformed_avatar_id_is_a_validation_error(auth_client):
    response = auth_client.patch("/api/v1/users/me", {"avatar_id": "nope"}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"


def test_user_lists_need_no_query_per_avatar(auth_client, user, django_assert_max_num_queries):
    for index in range(5):
        owner = UserFactory(username=f"pic{index}")
        owner.avatar = ImageAttachmentFactory(uploader=owner)
        owner.save(update_fields=["avatar"])
    with django_assert_max_num_queries(4):
        results = auth_client.get("/api/v1/users/search", {"q": "pic"}).json()["results"]
    assert len(results) == 5 and all(result["avatar"] for result in results)
