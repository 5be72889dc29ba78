"""Messages, history paging, receipts, unread counts and the HTTP sync endpoint."""

import pytest

from accounts.tests.factories import UserFactory
from chats.models import StreamEvent
from chats.tests.factories import direct_chat, group_chat, send
from conftest import auth_client_for

pytestmark = pytest.mark.django_db


def client_for(user):
    return auth_client_for(user)[0]


def unread(client, chat) -> int:
    return client.get(f"/api/v1/chats/{chat.id}").json()["unread_count"]


def test_send_and_idempotent_retry(user, other_user):
    chat = direct_chat(user, other_user)
    client = client_for(user)
    body = {"client_id": "abc", "text": "  hi  "}
    first = client.post(f"/api/v1/chats/{chat.id}/messages", body, format="json")
    assert first.status_code == 201
    message = first.json()
    assert message["text"] == "hi" and message["seq"] == 1 and message["sender_id"] == str(user.id)
    assert message["chat_id"] == str(chat.id) and message["client_id"] == "abc"
    again = client.post(f"/api/v1/chats/{chat.id}/messages", {**body, "text": "changed"}, format="json")
    assert again.status_code == 200
    assert again.json() == message
    assert StreamEvent.objects.filter(type="message:new").count() == 1


def test_client_id_in_another_chat_is_refused(user, other_user):
    first, second = direct_chat(user, other_user), group_chat(user)
    client = client_for(user)
    client.post(f"/api/v1/chats/{first.id}/messages", {"client_id": "same", "text": "a"}, format="json")
    response = client.post(f"/api/v1/chats/{second.id}/messages", {"client_id": "same", "text": "b"}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "client_id_reused"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"client_id": "x", "text": "   "}, "empty_message"),
        ({"client_id": "x"}, "empty_message"),
        ({"text": "hi"}, "validation_error"),
        ({"client_id": "x" * 65, "text": "hi"}, "validation_error"),
        ({"client_id": "x", "text": "a" * 4097}, "text_too_long"),
        ({"client_id": "x", "text": "hi", "reply_to": "00000000-0000-0000-0000-000000000000"}, "invalid_reply"),
    ],
)
def test_bad_messages(user, other_user, body, code):
    chat = direct_chat(user, other_user)
    response = client_for(user).post(f"/api/v1/chats/{chat.id}/messages", body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == code


def test_reply_to(user, other_user):
    chat = direct_chat(user, other_user)
    original = send(other_user, chat)
    response = client_for(user).post(
        f"/api/v1/chats/{chat.id}/messages",
        {"client_id": "r", "text": "re", "reply_to": str(original.id)},
        format="json",
    )
    assert response.json()["reply_to_id"] == str(original.id)


def test_history_paging(user, other_user):
    chat = direct_chat(user, other_user)
    for index in range(1, 8):
        send(user, chat, f"m{index}")
    client = client_for(other_user)
    url = f"/api/v1/chats/{chat.id}/messages"
    newest = client.get(url, {"limit": 3}).json()
    assert [m["seq"] for m in newest["results"]] == [5, 6, 7] and newest["has_more"]
    older = client.get(url, {"limit": 3, "before": 5}).json()
    assert [m["seq"] for m in older["results"]] == [2, 3, 4] and older["has_more"]
    oldest = client.get(url, {"limit": 3, "before": 2}).json()
    assert [m["seq"] for m in oldest["results"]] == [1] and not oldest["has_more"]
    forward = client.get(url, {"limit": 4, "after": 2}).json()
    assert [m["seq"] for m in forward["results"]] == [3, 4, 5, 6] and forward["has_more"]
    assert client.get(url, {"limit": 0}).json()["code"] == "validation_error"
    assert client.get(url, {"before": "x"}).status_code == 400


def test_unread_counts_follow_reads_edits_deletes_leaving_and_rejoining(user, other_user):
    owner = UserFactory()
    chat = group_chat(owner, [user, other_user])
    messages = [send(other_user, chat, f"m{i}") for i in range(5)]
    send(user, chat, "mine")  # own messages are never unread
    client = client_for(user)
    assert unread(client, chat) == 5

    read = client.post(f"/api/v1/chats/{chat.id}/read", {"up_to_seq": 2}, format="json")
    assert read.json() == {"chat_id": str(chat.id), "user_id": str(user.id), "delivered_seq": 2, "read_seq": 2}
    assert unread(client, chat) == 3
    # Reads never go backwards and never past the last message.
    client.post(f"/api/v1/chats/{chat.id}/read", {"up_to_seq": 1}, format="json")
    assert unread(client, chat) == 3

    other = client_for(other_user)
    other.patch(f"/api/v1/chats/{chat.id}/messages/{messages[3].id}", {"text": "edited"}, format="json")
    assert unread(client, chat) == 3
    assert other.delete(f"/api/v1/chats/{chat.id}/messages/{messages[4].id}").status_code == 204
    assert unread(client, chat) == 2

    client.delete(f"/api/v1/chats/{chat.id}/members/{user.id}")
    send(other_user, chat, "while away")
    client_for(owner).post(f"/api/v1/chats/{chat.id}/members", {"user_ids": [str(user.id)]}, format="json")
    assert unread(client, chat) == 0
    send(other_user, chat, "after rejoin")
    assert unread(client, chat) == 1
    over = client.post(f"/api/v1/chats/{chat.id}/read", {"up_to_seq": 10_000}, format="json").json()
    assert over["read_seq"] == chat.__class__.objects.get(pk=chat.pk).last_seq
    assert unread(client, chat) == 0


def test_edit_and_delete_rules(user, other_user):
    owner = UserFactory()
    chat = group_chat(owner, [user, other_user])
    message = send(user, chat, "mine")
    url = f"/api/v1/chats/{chat.id}/messages/{message.id}"
    assert client_for(other_user).patch(url, {"text": "x"}, format="json").json()["code"] == "forbidden"
    assert client_for(other_user).delete(url).json()["code"] == "forbidden"
    edited = client_for(user).patch(url, {"text": "fixed"}, format="json").json()
    assert edited["text"] == "fixed" and edited["edited_at"]
    assert client_for(owner).delete(url).status_code == 204  # moderators may delete
    history = client_for(user).get(f"/api/v1/chats/{chat.id}/messages").json()["results"]
    assert history[0]["deleted"] is True and history[0]["text"] == ""
    assert client_for(user).patch(url, {"text": "again"}, format="json").status_code == 404
    types = list(StreamEvent.objects.filter(chat=chat).order_by("id").values_list("type", flat=True))
    assert types[-2:] == ["message:updated", "message:deleted"]


def test_http_sync(user, other_user):
    chat = direct_chat(user, other_user)
    client = client_for(user)
    start = client.get("/api/v1/sync", {"cursor": 0}).json()
    assert [e["type"] for e in start["events"]] == ["chat:created"]
    send(other_user, chat, "one")
    send(user, chat, "two")
    page = client.get("/api/v1/sync", {"cursor": start["cursor"]}).json()
    assert [e["data"]["text"] for e in page["events"]] == ["one", "two"]
    assert page["cursor"] == page["events"][-1]["cursor"] and not page["has_more"]
    # Events of chats the user is not in never appear.
    group_chat(UserFactory())
    assert client.get("/api/v1/sync", {"cursor": page["cursor"]}).json()["events"] == []
    limited = client.get("/api/v1/sync", {"cursor": start["cursor"], "limit": 1}).json()
    assert len(limited["events"]) == 1 and limited["has_more"]
    assert client.get("/api/v1/sync", {"cursor": 10**9}).status_code == 410
    assert client.get("/api/v1/sync").status_code == 400


def test_expired_cursor(user):
    from chats.models import StreamRetention

    StreamRetention.objects.create(pruned_through_id=5)
    response = client_for(user).get("/api/v1/sync", {"cursor": 3})
    assert response.status_code == 410 and response.json()["code"] == "cursor_expired"
