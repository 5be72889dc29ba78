"""Chat folders over REST: /api/v1/folders, /folders/{id}, /folders/order."""

import uuid

import pytest

from chats.models import ChatFolder, StreamEvent
from chats.tests.factories import group_chat
from conftest import auth_client_for

pytestmark = pytest.mark.django_db


def client_for(user):
    return auth_client_for(user)[0]


def test_create_list_update_reorder_delete(user):
    one, two = group_chat(user, title="1"), group_chat(user, title="2")
    client = client_for(user)
    created = client.post("/api/v1/folders", {"name": "Work", "chat_ids": [str(two.pk), str(one.pk)]}, format="json")
    assert created.status_code == 201
    work = created.json()
    assert work == {
        **work,
        "name": "Work",
        "position": 0,
        "chat_ids": [str(two.pk), str(one.pk)],
    }
    home = client.post("/api/v1/folders", {"name": "Home"}, format="json").json()
    assert home["position"] == 1 and home["chat_ids"] == []
    assert [folder["name"] for folder in client.get("/api/v1/folders").json()] == ["Work", "Home"]

    patched = client.patch(f"/api/v1/folders/{home['id']}", {"chat_ids": [str(one.pk)]}, format="json")
    assert patched.status_code == 200 and patched.json()["chat_ids"] == [str(one.pk)]
    assert patched.json()["name"] == "Home"

    ordered = client.post("/api/v1/folders/order", {"folder_ids": [home["id"], work["id"]]}, format="json")
    assert ordered.status_code == 200
    assert [(folder["name"], folder["position"]) for folder in ordered.json()] == [("Home", 0), ("Work", 1)]
    assert client.get("/api/v1/folders").json() == ordered.json()

    assert client.delete(f"/api/v1/folders/{work['id']}").status_code == 204
    assert [folder["name"] for folder in client.get("/api/v1/folders").json()] == ["Home"]
    events = StreamEvent.objects.filter(type__startswith="folder:").order_by("id").values_list("type", flat=True)
    assert list(events) == [
        "folder:created",
        "folder:created",
        "folder:updated",
        "folder:updated",
        "folder:updated",
        "folder:deleted",
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 65}, "name"),
        ({"name": "a\x00b"}, "name"),
        ({"name": "ok", "chat_ids": "nope"}, "chat_ids"),
        ({"name": "ok", "chat_ids": ["nope"]}, "chat_ids"),
        ({"name": "ok", "chat_ids": [str(uuid.uuid4())] * 201}, "chat_ids"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_stored(user, body, field):
    response = client_for(user).post("/api/v1/folders", body, format="json")
    assert (response.status_code, response.json()["code"]) == (400, "validation_error")
    assert list(response.json()["details"]) == [field]
    assert not ChatFolder.objects.exists() and not StreamEvent.objects.filter(type__startswith="folder:").exists()


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("", {"name": ""}, "name"),
        ("", {"name": None}, "name"),
        ("", {"chat_ids": None}, "chat_ids"),
        ("", {"chat_ids": ["x"]}, "chat_ids"),
        ("order", {}, "folder_ids"),
        ("order", {"folder_ids": "all"}, "folder_ids"),
        ("order", {"folder_ids": ["x"]}, "folder_ids"),
    ],
)
def test_bad_changes_are_refused_and_nothing_changes(user, path, body, field):
    client = client_for(user)
    folder = client.post("/api/v1/folders", {"name": "F"}, format="json").json()
    url = "/api/v1/folders/order" if path == "order" else f"/api/v1/folders/{folder['id']}"
    response = (client.post if path == "order" else client.patch)(url, body, format="json")
    assert (response.status_code, response.json()["code"]) == (400, "validation_error")
    assert list(response.json()["details"]) == [field]
    assert client.get("/api/v1/folders").json() == [folder]


def test_codes_of_the_service_rules(user, other_user, settings):
    client = client_for(user)
    theirs = group_chat(other_user)
    response = client.post("/api/v1/folders", {"name": "F", "chat_ids": [str(theirs.pk)]}, format="json")
    assert (response.status_code, response.json()["details"]) == (404, {"chat_ids": [str(theirs.pk)]})
    settings.CHAT_MAX_FOLDERS = 1
    assert client.post("/api/v1/folders", {"name": "F"}, format="json").status_code == 201
    response = client.post("/api/v1/folders", {"name": "G"}, format="json")
    assert (response.status_code, response.json()["code"]) == (400, "too_many_folders")
    response = client.post("/api/v1/folders/order", {"folder_ids": []}, format="json")
    assert (response.status_code, response.json()["code"]) == (400, "validation_error")


def test_another_users_folder_is_not_found(user, other_user):
    folder = client_for(other_user).post("/api/v1/folders", {"name": "Theirs"}, format="json").json()
    client = client_for(user)
    assert client.get("/api/v1/folders").json() == []
    for response in (
        client.patch(f"/api/v1/folders/{folder['id']}", {"name": "Mine"}, format="json"),
        client.delete(f"/api/v1/folders/{folder['id']}"),
    ):
        assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert ChatFolder.objects.get().name == "Theirs"


def test_signed_in_users_only(api_client):
    assert api_client.get("/api/v1/folders").status_code == 401
