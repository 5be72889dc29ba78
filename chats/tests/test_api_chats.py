"""Chats, members and roles over REST."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Block
from accounts.tests.factories import UserFactory
from chats import services
from chats.models import Chat, ChatMember, StreamEvent
from chats.tests.factories import direct_chat, group_chat, send
from conftest import auth_client_for

pytestmark = pytest.mark.django_db


def client_for(user):
    return auth_client_for(user)[0]


class TestDirect:
    def test_find_or_create(self, user, other_user):
        client = client_for(user)
        created = client.post("/api/v1/chats/direct", {"user_id": str(other_user.id)}, format="json")
        assert created.status_code == 201
        body = created.json()
        assert body["type"] == "direct" and body["peer_id"] == str(other_user.id) and body["role"] == "member"
        again = client_for(other_user).post("/api/v1/chats/direct", {"user_id": str(user.id)}, format="json")
        assert again.status_code == 200
        assert again.json()["id"] == body["id"]
        assert again.json()["peer_id"] == str(user.id)
        assert Chat.objects.count() == 1

    def test_errors(self, user, other_user):
        client = client_for(user)
        assert (
            client.post("/api/v1/chats/direct", {"user_id": str(user.id)}, format="json").json()["code"]
            == "cannot_message_self"
        )
        unknown = client.post(
            "/api/v1/chats/direct", {"user_id": "00000000-0000-0000-0000-000000000000"}, format="json"
        )
        assert unknown.status_code == 404
        assert client.post("/api/v1/chats/direct", {}, format="json").json()["code"] == "validation_error"

    def test_blocked_user_cannot_open_or_message(self, user, other_user):
        chat = direct_chat(user, other_user)
        Block.objects.create(blocker=other_user, blocked=user)
        client = client_for(user)
        response = client.post("/api/v1/chats/direct", {"user_id": str(other_user.id)}, format="json")
        assert response.status_code == 403 and response.json()["code"] == "blocked"
        sent = client.post(f"/api/v1/chats/{chat.id}/messages", {"client_id": "1", "text": "hi"}, format="json")
        assert sent.status_code == 403 and sent.json()["code"] == "blocked"


class TestGroups:
    def test_create_and_list_newest_activity_first(self, user, other_user):
        client = client_for(user)
        first = client.post(
            "/api/v1/chats", {"type": "group", "title": "One", "member_ids": [str(other_user.id)]}, format="json"
        )
        assert first.status_code == 201
        assert first.json()["role"] == "owner" and first.json()["member_count"] == 2
        second = group_chat(user, title="Two")
        send(other_user, Chat.objects.get(pk=first.json()["id"]), "newest")
        listed = client.get("/api/v1/chats").json()["results"]
        assert [c["title"] for c in listed] == ["One", "Two"]
        assert listed[0]["last_message"]["text"] == "newest"
        assert listed[0]["unread_count"] == 1
        assert listed[1]["last_message"] is None and second

    def test_list_is_cursor_paginated(self, user):
        for index in range(3):
            group_chat(user, title=f"G{index}")
        client = client_for(user)
        page = client.get("/api/v1/chats", {"limit": 2}).json()
        assert len(page["results"]) == 2 and page["next"]
        rest = client.get(page["next"]).json()["results"]
        assert len(rest) == 1

    def test_the_list_costs_the_same_queries_whatever_the_number_of_chats(self, user, other_user):
        """One query for the page's chats (with every count), one for their last messages, one each
        for those messages' files and reactions; the rest is the request's (session, user)."""
        client = client_for(user)

        def chat_with_everything(index: int) -> None:
            chat = group_chat(other_user, [user], title=f"G{index}")
            message = send(other_user, chat, f"@{user.username} hi", client_id=f"c{index}")
            services.message_react(user=user, chat=chat, message=message, emoji="👍")
            hidden = send(other_user, chat, "x", client_id=f"h{index}")
            services.message_delete(user=user, chat=chat, message=hidden, for_everyone=False)

        def listing() -> tuple[list, list[str]]:
            with CaptureQueriesContext(connection) as queries:
                page = client.get("/api/v1/chats", {"limit": 50}).json()["results"]
            return page, [query["sql"] for query in queries.captured_queries]

        chat_with_everything(0)
        one, few_queries = listing()
        for index in range(1, 12):
            chat_with_everything(index)
        many, many_queries = listing()
        assert len(many) == 12 and len(one) == 1
        assert len(many_queries) == len(few_queries)
        assert sum('FROM "chats_chat"' in sql for sql in many_queries) == 1
        assert all(
            (listed["unread_count"], listed["unread_mentions_count"], listed["last_message"]["reactions"])
            == (1, 1, [{"emoji": "👍", "count": 1, "me": True}])
            for listed in many
        )

    def test_create_validation(self, user):
        client = client_for(user)
        assert client.post("/api/v1/chats", {"type": "direct", "title": "x"}, format="json").status_code == 400
        assert client.post("/api/v1/chats", {"type": "group"}, format="json").json()["details"]["title"]
        missing = client.post(
            "/api/v1/chats",
            {"type": "group", "title": "x", "member_ids": ["00000000-0000-0000-0000-000000000000"]},
            format="json",
        )
        assert missing.status_code == 404

    def test_non_member_sees_nothing(self, user, other_user):
        chat = group_chat(other_user)
        send(other_user, chat)
        client = client_for(user)
        for response in (
            client.get(f"/api/v1/chats/{chat.id}"),
            client.get(f"/api/v1/chats/{chat.id}/messages"),
            client.get(f"/api/v1/chats/{chat.id}/members"),
            client.post(f"/api/v1/chats/{chat.id}/messages", {"client_id": "x", "text": "hi"}, format="json"),
            client.post(f"/api/v1/chats/{chat.id}/read", {"up_to_seq": 1}, format="json"),
            client.patch(f"/api/v1/chats/{chat.id}", {"title": "mine"}, format="json"),
            client.delete(f"/api/v1/chats/{chat.id}"),
            client.post(f"/api/v1/chats/{chat.id}/members", {"user_ids": [str(user.id)]}, format="json"),
        ):
            assert response.status_code == 404, response.json()
            assert response.json()["code"] == "not_found"
        assert client.get("/api/v1/chats").json()["results"] == []
        assert not ChatMember.objects.filter(user=user).exists()

    def test_update_by_admin_not_member(self, user, other_user):
        chat = group_chat(user, [other_user])
        assert (
            client_for(other_user).patch(f"/api/v1/chats/{chat.id}", {"title": "x"}, format="json").json()["code"]
            == "forbidden"
        )
        response = client_for(user).patch(
            f"/api/v1/chats/{chat.id}", {"title": "New", "description": "d"}, format="json"
        )
        assert response.status_code == 200 and response.json()["title"] == "New"
        assert StreamEvent.objects.filter(type="chat:updated", chat=chat).count() == 1

    def test_direct_chats_have_no_member_management(self, user, other_user):
        chat = direct_chat(user, other_user)
        client = client_for(user)
        third = UserFactory()
        assert (
            client.post(f"/api/v1/chats/{chat.id}/members", {"user_ids": [str(third.id)]}, format="json").json()["code"]
            == "not_allowed_for_direct"
        )
        assert client.delete(f"/api/v1/chats/{chat.id}/members/{user.id}").json()["code"] == "not_allowed_for_direct"


class TestRoles:
    @pytest.fixture
    def team(self):
        owner, admin, member, other = UserFactory(), UserFactory(), UserFactory(), UserFactory()
        chat = group_chat(owner, [admin, member, other])
        ChatMember.objects.filter(chat=chat, user=admin).update(role="admin")
        return chat, owner, admin, member, other

    def test_member_cannot_add_or_remove(self, team):
        chat, _owner, _admin, member, other = team
        client = client_for(member)
        newcomer = UserFactory()
        assert (
            client.post(f"/api/v1/chats/{chat.id}/members", {"user_ids": [str(newcomer.id)]}, format="json").json()[
                "code"
            ]
            == "forbidden"
        )
        assert client.delete(f"/api/v1/chats/{chat.id}/members/{other.id}").json()["code"] == "forbidden"

    def test_admin_adds_and_removes_members_but_not_admins_or_owner(self, team):
        chat, owner, admin, member, other = team
        client = client_for(admin)
        newcomer = UserFactory()
        added = client.post(
            f"/api/v1/chats/{chat.id}/members", {"user_ids": [str(newcomer.id), str(member.id)]}, format="json"
        )
        assert added.status_code == 201
        assert [m["user"]["id"] for m in added.json()] == [str(newcomer.id)]
        assert client.delete(f"/api/v1/chats/{chat.id}/members/{member.id}").status_code == 204
        assert client.delete(f"/api/v1/chats/{chat.id}/members/{owner.id}").json()["code"] == "forbidden"
        ChatMember.objects.filter(chat=chat, user=other).update(role="admin")
        assert client.delete(f"/api/v1/chats/{chat.id}/members/{other.id}").json()["code"] == "forbidden"

    def test_only_owner_changes_roles_and_can_hand_over(self, team):
        chat, owner, admin, member, other = team
        assert (
            client_for(admin)
            .patch(f"/api/v1/chats/{chat.id}/members/{member.id}", {"role": "admin"}, format="json")
            .json()["code"]
            == "forbidden"
        )
        client = client_for(owner)
        promoted = client.patch(f"/api/v1/chats/{chat.id}/members/{member.id}", {"role": "admin"}, format="json")
        assert promoted.json()["role"] == "admin"
        client.patch(f"/api/v1/chats/{chat.id}/members/{other.id}", {"role": "owner"}, format="json")
        roles = dict(ChatMember.objects.filter(chat=chat).values_list("user_id", "role"))
        assert roles[other.id] == "owner" and roles[owner.id] == "admin"
        bad = client.patch(f"/api/v1/chats/{chat.id}/members/{member.id}", {"role": "king"}, format="json")
        assert bad.status_code == 400

    def test_leaving_and_owner_succession(self, team):
        chat, owner, admin, member, other = team
        assert client_for(member).delete(f"/api/v1/chats/{chat.id}/members/{member.id}").status_code == 204
        assert client_for(owner).delete(f"/api/v1/chats/{chat.id}/members/{owner.id}").status_code == 204
        roles = dict(ChatMember.objects.filter(chat=chat).values_list("user_id", "role"))
        assert roles == {admin.id: "owner", other.id: "member"}
        removed = StreamEvent.objects.filter(type="chat:member_removed", chat=chat).order_by("id")
        assert [str(e.user_id) for e in removed] == [str(member.id), str(owner.id)]

    def test_last_member_leaving_deletes_the_chat(self, user):
        chat = group_chat(user)
        client_for(user).delete(f"/api/v1/chats/{chat.id}/members/{user.id}")
        chat.refresh_from_db()
        assert chat.deleted_at is not None

    def test_delete_chat_owner_only(self, team):
        chat, owner, admin, member, _other = team
        assert client_for(admin).delete(f"/api/v1/chats/{chat.id}").json()["code"] == "forbidden"
        assert client_for(owner).delete(f"/api/v1/chats/{chat.id}").status_code == 204
        assert client_for(member).get(f"/api/v1/chats/{chat.id}").status_code == 404
        assert StreamEvent.objects.filter(type="chat:deleted", chat=chat).exists()

    def test_channel_only_owner_and_admins_post(self, team):
        _, owner, admin, member, _ = team
        channel = group_chat(owner, [admin, member], type="channel", title="News")
        ChatMember.objects.filter(chat=channel, user=admin).update(role="admin")
        url = f"/api/v1/chats/{channel.id}/messages"
        refused = client_for(member).post(url, {"client_id": "m1", "text": "hi"}, format="json")
        assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
        assert client_for(admin).post(url, {"client_id": "a1", "text": "hi"}, format="json").status_code == 201
        assert client_for(owner).post(url, {"client_id": "o1", "text": "hi"}, format="json").status_code == 201
        assert client_for(member).get(url).json()["results"][-1]["seq"] == 2
