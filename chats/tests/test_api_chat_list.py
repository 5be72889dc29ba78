"""The chat list over REST (order, filters, settings, its query count), PATCH …/settings and POST …/leave."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.tests.factories import UserFactory
from chats import services
from chats.models import Chat, ChatMember, StreamEvent
from chats.tests.factories import direct_chat, group_chat, send
from conftest import auth_client_for

pytestmark = pytest.mark.django_db


def client_for(user):
    return auth_client_for(user)[0]


def titles(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return [chat["title"] or chat["peer_id"] for chat in response.json()["results"]]


class TestOrderAndFilters:
    def test_pinned_first_then_newest_activity_across_pages(self, user):
        chats = [group_chat(user, title=f"G{index}") for index in range(5)]
        services.chat_settings_update(user=user, chat_id=chats[1].pk, pinned=True)
        services.chat_settings_update(user=user, chat_id=chats[3].pk, pinned=True)
        send(user, chats[0], "activity")
        client = client_for(user)
        first = client.get("/api/v1/chats", {"limit": 2}).json()
        second = client.get(first["next"]).json()
        third = client.get(second["next"]).json()
        pages = [[chat["title"] for chat in page["results"]] for page in (first, second, third)]
        assert pages == [["G3", "G1"], ["G0", "G4"], ["G2"]]
        assert third["next"] is None
        assert [chat["settings"]["pinned"] for chat in first["results"]] == [True, True]

    def test_each_chat_carries_the_callers_settings(self, user, other_user):
        chat = direct_chat(user, other_user)
        until = timezone.now() + timedelta(days=1)
        services.chat_settings_update(user=user, chat_id=chat.pk, muted_until=until, pinned=True)
        (listed,) = client_for(user).get("/api/v1/chats").json()["results"]
        assert listed["settings"] == {
            "chat_id": str(chat.pk),
            "muted_until": until.isoformat().replace("+00:00", "Z"),
            "archived": False,
            "pinned": True,
            "pinned_at": listed["settings"]["pinned_at"],
        }
        assert listed["settings"]["pinned_at"]
        (theirs,) = client_for(other_user).get("/api/v1/chats").json()["results"]
        assert theirs["settings"]["muted_until"] is None and theirs["settings"]["pinned"] is False
        assert client_for(user).get(f"/api/v1/chats/{chat.pk}").json()["settings"] == listed["settings"]

    def test_archived_only_with_archived_true(self, user):
        kept, archived = group_chat(user, title="Kept"), group_chat(user, title="Old")
        services.chat_settings_update(user=user, chat_id=archived.pk, archived=True)
        client = client_for(user)
        assert titles(client.get("/api/v1/chats")) == ["Kept"]
        assert titles(client.get("/api/v1/chats", {"archived": "false"})) == ["Kept"]
        assert titles(client.get("/api/v1/chats", {"archived": "true"})) == ["Old"]
        assert kept

    def test_folder_filter(self, user, other_user):
        work, home, other = group_chat(user, title="Work"), group_chat(user, title="Home"), group_chat(user)
        folder = services.folder_create(owner=user, name="Mine", chat_ids=[home.pk, work.pk])
        client = client_for(user)
        assert titles(client.get("/api/v1/chats", {"folder_id": str(folder.pk)})) == ["Home", "Work"]
        theirs = services.folder_create(owner=other_user, name="Theirs")
        for folder_id in (str(theirs.pk), "00000000-0000-0000-0000-000000000000"):
            response = client.get("/api/v1/chats", {"folder_id": folder_id})
            assert response.status_code == 404 and response.json()["code"] == "not_found"
        assert other

    def test_q_matches_titles_and_other_members_names(self, user):
        alice = UserFactory(username="alice_w", display_name="Alice Wonder")
        bob = UserFactory(username="bob", display_name="Robert")
        direct_chat(user, alice)
        group_chat(user, [bob], title="Chess club")
        group_chat(bob, [user], title="News", type=Chat.Type.CHANNEL)
        client = client_for(user)
        assert titles(client.get("/api/v1/chats", {"q": "wonder"})) == [str(alice.pk)]
        assert titles(client.get("/api/v1/chats", {"q": "CHESS"})) == ["Chess club"]
        # A group matches by its members' names, a channel by its title only.
        assert titles(client.get("/api/v1/chats", {"q": "rober"})) == ["Chess club"]
        assert titles(client.get("/api/v1/chats", {"q": "news"})) == ["News"]
        # Your own name matches nothing; like-patterns are plain text.
        assert titles(client.get("/api/v1/chats", {"q": user.username})) == []
        assert titles(client.get("/api/v1/chats", {"q": "%"})) == []
        assert len(titles(client.get("/api/v1/chats", {"q": "  "}))) == 3

    def test_bad_filters_are_validation_errors(self, user):
        client = client_for(user)
        for params in ({"archived": "maybe"}, {"folder_id": "nope"}, {"q": "x" * 65}):
            response = client.get("/api/v1/chats", params)
            assert response.status_code == 400 and response.json()["code"] == "validation_error", params
            assert set(response.json()["details"]) == set(params)

    def test_one_query_per_page_whatever_the_number_of_chats(self, user):
        """The page, then the last messages and their files: the same count for 2 chats and 30."""
        peer = UserFactory()

        def chats(count: int) -> None:
            for index in range(count):
                chat = group_chat(user, [peer], title=f"C{index}")
                send(peer, chat, "hello", client_id=f"{count}-{index}")
                if index % 2:
                    services.chat_settings_update(user=user, chat_id=chat.pk, archived=True)
                if index % 3 == 0:
                    services.chat_settings_update(
                        user=user, chat_id=chat.pk, muted_until=timezone.now() + timedelta(hours=1)
                    )
            services.chat_settings_update(user=user, chat_id=chat.pk, pinned=True)

        client = client_for(user)

        def count_queries() -> int:
            with CaptureQueriesContext(connection) as captured:
                body = client.get("/api/v1/chats", {"limit": 200}).json()
            assert body["results"], body
            return len(captured.captured_queries)

        chats(2)
        few = count_queries()
        chats(28)
        # Authentication (the session) 1, the page 1, the last messages 1, their files 1 and their
        # reactions 1.
        assert count_queries() == few == 5


class TestSettingsEndpoint:
    def test_patch_changes_and_answers_every_setting(self, user, other_user):
        chat = direct_chat(user, other_user)
        client = client_for(user)
        body = {"archived": True, "muted_until": "9999-12-31T23:59:59Z"}
        response = client.patch(f"/api/v1/chats/{chat.pk}/settings", body, format="json")
        assert response.status_code == 200
        assert response.json() == {
            "chat_id": str(chat.pk),
            "muted_until": "9999-12-31T23:59:59Z",
            "archived": True,
            "pinned": False,
            "pinned_at": None,
        }
        assert client.patch(f"/api/v1/chats/{chat.pk}/settings", {}, format="json").json() == response.json()
        event = StreamEvent.objects.filter(type="chat:settings_updated").get()
        assert (event.user_id, event.chat_id, event.origin) == (user.pk, None, "")

    def test_bad_input_is_refused_with_its_code_and_nothing_is_stored(self, user, other_user, settings):
        chat = direct_chat(user, other_user)
        client = client_for(user)
        for body in (
            {"archived": "maybe"},
            {"pinned": None},
            {"muted_until": "tomorrow"},
            {"muted_until": 5},
            {"muted_until": "9999-12-31T23:59:59-12:00"},  # past year 9999 in UTC
            {"archived": True, "pinned": True},
        ):
            response = client.patch(f"/api/v1/chats/{chat.pk}/settings", body, format="json")
            assert response.status_code == 400, (body, response.json())
            assert response.json()["code"] == "validation_error", body
        settings.CHAT_MAX_PINNED = 0
        response = client.patch(f"/api/v1/chats/{chat.pk}/settings", {"pinned": True}, format="json")
        assert (response.status_code, response.json()["code"]) == (400, "too_many_pinned")
        member = ChatMember.objects.get(chat=chat, user=user)
        assert (member.muted_until, member.archived_seq, member.pinned_at) == (None, None, None)
        assert not StreamEvent.objects.filter(type="chat:settings_updated").exists()

    def test_not_a_member_is_not_found(self, user, other_user):
        chat = group_chat(other_user)
        response = client_for(user).patch(f"/api/v1/chats/{chat.pk}/settings", {"archived": True}, format="json")
        assert (response.status_code, response.json()["code"]) == (404, "not_found")


class TestLeave:
    def test_a_member_leaves(self, user, other_user):
        chat = group_chat(other_user, [user])
        response = client_for(user).post(f"/api/v1/chats/{chat.pk}/leave")
        assert response.status_code == 204
        assert not ChatMember.objects.filter(chat=chat, user=user).exists()
        event = StreamEvent.objects.filter(type="chat:member_removed").get()
        assert event.payload == {"chat_id": str(chat.pk), "user_id": str(user.pk), "by": str(user.pk)}
        assert client_for(user).post(f"/api/v1/chats/{chat.pk}/leave").status_code == 404

    def test_the_owner_hands_over_to_the_oldest_admin_else_the_oldest_member(self, user):
        oldest, admin, newer_admin = UserFactory(), UserFactory(), UserFactory()
        chat = group_chat(user, [oldest])
        services.chat_member_add(chat=chat, actor=user, user_ids=[admin.pk])
        services.chat_member_add(chat=chat, actor=user, user_ids=[newer_admin.pk])
        ChatMember.objects.filter(chat=chat, user__in=[admin, newer_admin]).update(role="admin")
        assert client_for(user).post(f"/api/v1/chats/{chat.pk}/leave").status_code == 204
        assert ChatMember.objects.get(chat=chat, user=admin).role == "owner"
        assert client_for(admin).post(f"/api/v1/chats/{chat.pk}/leave").status_code == 204
        assert ChatMember.objects.get(chat=chat, user=newer_admin).role == "owner"
        assert client_for(newer_admin).post(f"/api/v1/chats/{chat.pk}/leave").status_code == 204
        assert ChatMember.objects.get(chat=chat, user=oldest).role == "owner"

    def test_the_last_member_leaving_deletes_the_group_whatever_their_role(self, user, other_user):
        chat = group_chat(user, [other_user])
        ChatMember.objects.filter(chat=chat, user=user).delete()  # an owner whose account is gone
        assert client_for(other_user).post(f"/api/v1/chats/{chat.pk}/leave").status_code == 204
        assert Chat.objects.get(pk=chat.pk).deleted_at is not None
        assert StreamEvent.objects.filter(type="chat:deleted", chat=chat).exists()

    def test_a_direct_chat_cannot_be_left(self, user, other_user):
        chat = direct_chat(user, other_user)
        response = client_for(user).post(f"/api/v1/chats/{chat.pk}/leave")
        assert (response.status_code, response.json()["code"]) == (400, "not_allowed_for_direct")
        assert ChatMember.objects.filter(chat=chat).count() == 2

    def test_leaving_drops_the_chat_from_folders_and_the_leaver_is_not_banned(self, user, other_user):
        chat = group_chat(other_user, [user])
        folder = services.folder_create(owner=user, name="F", chat_ids=[chat.pk])
        client = client_for(user)
        assert client.post(f"/api/v1/chats/{chat.pk}/leave").status_code == 204
        assert client.get("/api/v1/folders").json()[0]["chat_ids"] == []
        invite = services.invite_create(chat=chat, actor=other_user)
        assert client.post(f"/api/v1/invites/{invite.code}/join").status_code == 201
        assert folder
