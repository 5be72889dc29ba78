"""Profiles, search, contacts and blocks."""

import pytest

from accounts.models import Block, Contact
from accounts.tests.factories import UserFactory
from conftest import auth_client_for

pytestmark = pytest.mark.django_db


class TestProfile:
    def test_me_shows_private_fields(self, user, auth_client):
        user.phone = "+14155550123"
        user.save()
        body = auth_client.get("/api/v1/users/me").json()
        assert body["phone"] == "+14155550123"
        assert body["id"] == str(user.id)

    def test_patch_me(self, user, auth_client):
        response = auth_client.patch(
            "/api/v1/users/me", {"display_name": "Al", "bio": "hi", "username": "al_1"}, format="json"
        )
        assert response.status_code == 200
        user.refresh_from_db()
        assert (user.display_name, user.bio, user.username) == ("Al", "hi", "al_1")

    def test_patch_me_cannot_change_phone_or_id(self, user, auth_client):
        auth_client.patch("/api/v1/users/me", {"phone": "+14155550100", "id": "x"}, format="json")
        user.refresh_from_db()
        assert user.phone is None

    def test_patch_username_taken(self, auth_client):
        UserFactory(username="taken")
        response = auth_client.patch("/api/v1/users/me", {"username": "TAKEN"}, format="json")
        assert response.status_code == 400
        assert response.json()["code"] == "username_taken"

    def test_other_user_profile_hides_private_fields(self, auth_client, other_user):
        other_user.phone = "+14155550123"
        other_user.save()
        body = auth_client.get(f"/api/v1/users/{other_user.id}").json()
        assert body["username"] == other_user.username
        assert "phone" not in body and "email" not in body

    def test_unknown_user_is_404(self, auth_client):
        response = auth_client.get("/api/v1/users/00000000-0000-0000-0000-000000000000")
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"

    def test_search(self, auth_client):
        UserFactory(username="carol", display_name="Carol King")
        UserFactory(username="dave", display_name="Dave", phone="+14155550177")
        UserFactory(username="karl", display_name="Karl")
        names = lambda q: {u["username"] for u in auth_client.get("/api/v1/users/search", {"q": q}).json()["results"]}  # noqa: E731
        assert names("car") == {"carol"}
        assert names("king") == {"carol"}
        assert names("+14155550177") == {"dave"}
        assert names("+1415555") == set()
        assert names("") == set()

    def test_search_is_paginated(self, auth_client):
        for index in range(5):
            UserFactory(username=f"page{index}")
        first = auth_client.get("/api/v1/users/search", {"q": "page", "limit": 2}).json()
        assert len(first["results"]) == 2 and first["next"]
        second = auth_client.get(first["next"]).json()
        assert {u["username"] for u in second["results"]}.isdisjoint({u["username"] for u in first["results"]})


class TestContacts:
    def test_add_list_remove(self, user, auth_client, other_user):
        created = auth_client.post("/api/v1/contacts", {"user_id": str(other_user.id), "name": "Bob"}, format="json")
        assert created.status_code == 201
        assert created.json()["user"]["id"] == str(other_user.id)
        assert auth_client.post("/api/v1/contacts", {"user_id": str(other_user.id)}, format="json").status_code == 200
        listed = auth_client.get("/api/v1/contacts").json()["results"]
        assert [c["name"] for c in listed] == ["Bob"]
        assert auth_client.delete(f"/api/v1/contacts/{created.json()['id']}").status_code == 204
        assert not Contact.objects.exists()

    def test_add_by_phone(self, auth_client):
        target = UserFactory(phone="+14155550123")
        response = auth_client.post("/api/v1/contacts", {"phone": "+1 415 555 0123"}, format="json")
        assert response.status_code == 201
        assert response.json()["user"]["id"] == str(target.id)

    def test_add_errors(self, user, auth_client):
        assert (
            auth_client.post("/api/v1/contacts", {"user_id": str(user.id)}, format="json").json()["code"]
            == "cannot_target_self"
        )
        assert auth_client.post("/api/v1/contacts", {}, format="json").json()["code"] == "validation_error"
        missing = auth_client.post("/api/v1/contacts", {"phone": "+14155550999"}, format="json")
        assert missing.status_code == 404

    def test_cannot_delete_another_users_contact(self, auth_client, other_user):
        entry = Contact.objects.create(owner=other_user, contact=UserFactory())
        assert auth_client.delete(f"/api/v1/contacts/{entry.id}").status_code == 404
        assert Contact.objects.filter(pk=entry.pk).exists()

    def test_sync_returns_registered_users_and_adds_them(self, user, auth_client):
        alice = UserFactory(phone="+14155550001")
        UserFactory(phone="+14155550002", is_active=False)
        user.phone = "+14155550003"
        user.save()
        response = auth_client.post(
            "/api/v1/contacts/sync",
            {"phones": ["+1 415 555 0001", "+14155550002", "+14155550003", "garbage", "+14155550004"]},
            format="json",
        )
        assert response.status_code == 200
        # The user as every list shows one: the profile without its presence.
        profile = auth_client.get(f"/api/v1/users/{alice.id}").json()
        assert profile.pop("online") is False
        assert response.json()["matches"] == [{"phone": "+1 415 555 0001", "user": profile}]
        assert list(Contact.objects.filter(owner=user).values_list("contact_id", flat=True)) == [alice.id]

    def test_sync_is_bounded(self, auth_client, settings):
        response = auth_client.post("/api/v1/contacts/sync", {"phones": ["+14155550001"] * 1001}, format="json")
        assert response.status_code == 400
        assert response.json()["code"] == "too_many_phones"


class TestBlocks:
    def test_block_list_unblock(self, user, auth_client, other_user):
        assert auth_client.post("/api/v1/blocks", {"user_id": str(other_user.id)}, format="json").status_code == 201
        assert auth_client.post("/api/v1/blocks", {"user_id": str(other_user.id)}, format="json").status_code == 200
        listed = auth_client.get("/api/v1/blocks").json()["results"]
        assert [b["user"]["id"] for b in listed] == [str(other_user.id)]
        assert auth_client.delete(f"/api/v1/blocks/{other_user.id}").status_code == 204
        assert auth_client.delete(f"/api/v1/blocks/{other_user.id}").status_code == 404
        assert not Block.objects.exists()

    def test_block_errors(self, user, auth_client):
        assert (
            auth_client.post("/api/v1/blocks", {"user_id": str(user.id)}, format="json").json()["code"]
            == "cannot_target_self"
        )
        assert auth_client.post("/api/v1/blocks", {"user_id": "nope"}, format="json").status_code == 400
        unknown = auth_client.post("/api/v1/blocks", {"user_id": "00000000-0000-0000-0000-000000000000"}, format="json")
        assert unknown.status_code == 404

    def test_blocks_are_private(self, user, other_user):
        Block.objects.create(blocker=other_user, blocked=user)
        client, _, _ = auth_client_for(user)
        assert client.get("/api/v1/blocks").json()["results"] == []
