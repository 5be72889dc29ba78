"""Messages, history paging, receipts, unread counts and the HTTP sync endpoint; edits, deletes,
reactions, pins, mentions and forwards over REST."""

import json
import uuid
from urllib.parse import quote

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


# --- edits, deletes, reactions, pins, mentions and forwards over REST ------------------------------


def _message_url(chat, message, suffix: str = "") -> str:
    return f"/api/v1/chats/{chat.id}/messages/{message.id}{suffix}"


def test_edit_history_is_listed_to_members(user, other_user):
    chat = direct_chat(user, other_user)
    message = send(user, chat, "first")
    client = client_for(user)
    for text in ("second", "third"):
        assert client.patch(_message_url(chat, message), {"text": text}, format="json").status_code == 200
    versions = client_for(other_user).get(_message_url(chat, message, "/edits")).json()["results"]
    assert [version["text"] for version in versions] == ["first", "second", "third"]
    assert versions[0]["written_at"] < versions[1]["written_at"] < versions[2]["written_at"]
    outsider = client_for(UserFactory()).get(_message_url(chat, message, "/edits"))
    assert (outsider.status_code, outsider.json()["code"]) == (404, "not_found")
    client.delete(_message_url(chat, message))
    assert client.get(_message_url(chat, message, "/edits")).json() == {"results": []}


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"text": "   "}, 400, "empty_message"),
        ({"text": "x" * 4097}, 400, "text_too_long"),
        ({"text": "nul \x00 inside"}, 400, "validation_error"),
        ({"text": "lone \ud800 surrogate"}, 400, "validation_error"),
        ({}, 400, "validation_error"),
        ({"text": None}, 400, "validation_error"),
    ],
)
def test_bad_edits_change_nothing(user, other_user, body, status, code):
    chat = direct_chat(user, other_user)
    message = send(user, chat, "kept")
    raw = json.dumps(body)  # escapes the lone surrogate, as a client's JSON would
    response = client_for(user).generic("PATCH", _message_url(chat, message), raw, content_type="application/json")
    assert (response.status_code, response.json()["code"]) == (status, code)
    message.refresh_from_db()
    assert (message.text, message.edited_at) == ("kept", None)


def test_an_edit_after_the_window_is_refused(user, other_user, settings):
    settings.MESSAGE_EDIT_WINDOW_SECONDS = 0
    chat = direct_chat(user, other_user)
    message = send(user, chat, "kept")
    response = client_for(user).patch(_message_url(chat, message), {"text": "late"}, format="json")
    assert (response.status_code, response.json()["code"]) == (403, "edit_window_expired")


@pytest.mark.parametrize(
    "raw",
    [
        b'{"client_id": "x", "text": "nul \\u0000"}',
        b'{"client_id": "x", "text": "lone \\udc00"}',
        b'{"client_id": "x\\u0000", "text": "hi"}',
    ],
)
def test_invalid_unicode_is_refused_and_never_stored(user, other_user, raw):
    chat = direct_chat(user, other_user)
    response = client_for(user).generic(
        "POST", f"/api/v1/chats/{chat.id}/messages", raw, content_type="application/json"
    )
    assert (response.status_code, response.json()["code"]) == (400, "validation_error")
    assert not StreamEvent.objects.filter(type="message:new").exists()


def test_bytes_that_are_not_utf8_are_not_json(user, other_user):
    chat = direct_chat(user, other_user)
    body = b'{"client_id": "x", "text": "\xff\xfe"}'
    response = client_for(user).generic(
        "POST", f"/api/v1/chats/{chat.id}/messages", body, content_type="application/json"
    )
    assert (response.status_code, response.json()["code"]) == (400, "parse_error")
    assert not StreamEvent.objects.filter(type="message:new").exists()


def test_delete_for_me_over_rest(user, other_user):
    chat = direct_chat(user, other_user)
    message = send(other_user, chat, "only you")
    client = client_for(user)
    assert client.delete(_message_url(chat, message) + "?for_everyone=maybe").json()["code"] == "validation_error"
    response = client.delete(_message_url(chat, message) + "?for_everyone=false")
    assert response.status_code == 204
    assert client.get(f"/api/v1/chats/{chat.id}/messages").json()["results"] == []
    assert unread(client, chat) == 0
    assert client.get(_message_url(chat, message, "/edits")).status_code == 404
    assert client.delete(_message_url(chat, message) + "?for_everyone=false").status_code == 404  # gone for them
    theirs = client_for(other_user).get(f"/api/v1/chats/{chat.id}/messages").json()["results"]
    assert [item["text"] for item in theirs] == ["only you"]
    assert StreamEvent.objects.filter(type="message:deleted", user=user, chat=None).count() == 1


def test_reactions_over_rest(user, other_user):
    chat = direct_chat(user, other_user)
    message = send(user, chat, "react")
    client = client_for(other_user)
    url = _message_url(chat, message, "/reactions/" + quote("👍🏽"))
    added = client.put(url)
    assert added.status_code == 200
    assert added.json()["reactions"] == [{"emoji": "👍🏽", "count": 1, "me": True}]
    assert client.put(url).json()["reactions"] == [{"emoji": "👍🏽", "count": 1, "me": True}]  # idempotent
    history = client_for(user).get(f"/api/v1/chats/{chat.id}/messages").json()["results"]
    assert history[0]["reactions"] == [{"emoji": "👍🏽", "count": 1, "me": False}]
    assert client.delete(url).json()["reactions"] == []
    bad = client.put(_message_url(chat, message, "/reactions/" + quote("no")))
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid_emoji")
    outsider = client_for(UserFactory()).put(url)
    assert (outsider.status_code, outsider.json()["code"]) == (404, "not_found")
    assert StreamEvent.objects.filter(type="message:reactions").count() == 2


def test_pins_over_rest(user, other_user):
    owner = UserFactory()
    chat = group_chat(owner, [user, other_user])
    first, second = send(user, chat, "first"), send(user, chat, "second")
    moderator = client_for(owner)
    for message in (first, second):
        assert moderator.put(f"/api/v1/chats/{chat.id}/pins/{message.id}").status_code == 200
    refused = client_for(user).put(f"/api/v1/chats/{chat.id}/pins/{first.id}")
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
    pins = client_for(user).get(f"/api/v1/chats/{chat.id}/pins").json()["results"]
    assert [pin["message"]["text"] for pin in pins] == ["second", "first"]
    assert pins[0]["pinned_by"] == str(owner.id) and pins[0]["pinned_at"]
    unpinned = moderator.delete(f"/api/v1/chats/{chat.id}/pins/{second.id}").json()
    assert unpinned == {"chat_id": str(chat.id), "pinned_message_ids": [str(first.id)]}
    assert client_for(UserFactory()).get(f"/api/v1/chats/{chat.id}/pins").status_code == 404
    missing = moderator.put(f"/api/v1/chats/{chat.id}/pins/{uuid.uuid4()}")
    assert missing.status_code == 404


def test_unread_mentions_are_counted_listed_and_cleared_by_reading(user, other_user):
    owner = UserFactory()
    chat = group_chat(owner, [user, other_user])
    name = user.username
    send(owner, chat, "nothing for you")
    mentioning = [send(other_user, chat, f"@{name} look", client_id=f"m{index}") for index in range(3)]
    send(owner, chat, f"@all hands, @{name}", client_id="all")
    client = client_for(user)
    listed = client.get("/api/v1/chats").json()["results"][0]
    assert (listed["unread_count"], listed["unread_mentions_count"]) == (5, 4)
    page = client.get(f"/api/v1/chats/{chat.id}/mentions", {"limit": 2}).json()
    assert [item["seq"] for item in page["results"]] == [2, 3] and page["has_more"]
    assert page["results"][0]["mentions"] == [str(user.id)]
    rest = client.get(f"/api/v1/chats/{chat.id}/mentions", {"after": 3}).json()
    assert [item["seq"] for item in rest["results"]] == [4, 5] and not rest["has_more"]
    client.post(f"/api/v1/chats/{chat.id}/read", {"up_to_seq": mentioning[1].seq}, format="json")
    assert client.get(f"/api/v1/chats/{chat.id}").json()["unread_mentions_count"] == 2
    client.delete(_message_url(chat, mentioning[2]) + "?for_everyone=false")
    assert client.get(f"/api/v1/chats/{chat.id}").json()["unread_mentions_count"] == 1
    client.post(f"/api/v1/chats/{chat.id}/read", {"up_to_seq": 99}, format="json")
    assert client.get(f"/api/v1/chats/{chat.id}").json()["unread_mentions_count"] == 0
    assert client.get(f"/api/v1/chats/{chat.id}/mentions").json() == {"results": [], "has_more": False}
    assert client.get(f"/api/v1/chats/{chat.id}/mentions", {"limit": 0}).json()["code"] == "validation_error"
    assert client_for(UserFactory()).get(f"/api/v1/chats/{chat.id}/mentions").status_code == 404


def test_forward_over_rest(user, other_user):
    source_chat = group_chat(other_user, [user], title="Source")
    original = send(other_user, source_chat, "worth sharing")
    target = direct_chat(user, UserFactory())
    client = client_for(user)
    url = f"/api/v1/chats/{target.id}/messages"
    forward = {"chat_id": str(source_chat.id), "message_id": str(original.id)}
    sent = client.post(url, {"client_id": "f", "forward_from": forward}, format="json")
    assert sent.status_code == 201
    body = sent.json()
    assert body["text"] == "worth sharing" and body["forwarded_from"]["chat_id"] == str(source_chat.id)
    assert body["forwarded_from"]["chat_title"] == "Source"
    with_text = client.post(url, {"client_id": "g", "text": "mine", "forward_from": forward}, format="json")
    assert (with_text.status_code, list(with_text.json()["details"])) == (400, ["forward_from"])
    unseen = {"chat_id": str(source_chat.id), "message_id": str(uuid.uuid4())}
    missing = client.post(url, {"client_id": "h", "forward_from": unseen}, format="json")
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
