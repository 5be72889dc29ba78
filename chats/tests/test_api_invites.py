"""Invite links over REST: managing them in a chat, previewing and joining them, and the throttles."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.tests.factories import UserFactory
from chats import services
from chats.models import ChatInvite, ChatMember
from chats.tests.factories import direct_chat, group_chat
from conftest import auth_client_for

pytestmark = pytest.mark.django_db


def client_for(user):
    return auth_client_for(user)[0]


@pytest.fixture
def channel(user):
    return group_chat(user, [UserFactory()], type="channel", title="News")


class TestManage:
    def test_create_list_revoke(self, user, channel):
        client = client_for(user)
        until = (timezone.now() + timedelta(days=7)).isoformat()
        created = client.post(
            f"/api/v1/chats/{channel.pk}/invites", {"expires_at": until, "max_uses": 5}, format="json"
        )
        assert created.status_code == 201
        invite = created.json()
        assert invite == {**invite, "chat_id": str(channel.pk), "max_uses": 5, "uses": 0, "revoked_at": None}
        other = client.post(f"/api/v1/chats/{channel.pk}/invites", {}, format="json").json()
        assert (other["expires_at"], other["max_uses"]) == (None, None)
        listed = client.get(f"/api/v1/chats/{channel.pk}/invites").json()
        assert [item["code"] for item in listed["results"]] == [other["code"], invite["code"]]
        revoked = client.delete(f"/api/v1/chats/{channel.pk}/invites/{invite['code']}")
        assert revoked.status_code == 200 and revoked.json()["revoked_at"]
        assert client.get(f"/api/v1/chats/{channel.pk}/invites").json()["results"][1]["revoked_at"]

    @pytest.mark.parametrize(
        "body",
        [
            {"max_uses": 0},
            {"max_uses": -1},
            {"max_uses": "lots"},
            {"max_uses": 10**6 + 1},
            {"expires_at": "soon"},
            {"expires_at": "2000-01-01T00:00:00Z"},
        ],
    )
    def test_bad_input_is_refused_and_nothing_is_stored(self, user, channel, body):
        response = client_for(user).post(f"/api/v1/chats/{channel.pk}/invites", body, format="json")
        assert (response.status_code, response.json()["code"]) == (400, "validation_error")
        assert list(response.json()["details"]) == list(body)
        assert not ChatInvite.objects.exists()

    def test_members_non_members_and_direct_chats(self, user, other_user, channel):
        ChatMember.objects.create(chat=channel, user=other_user)
        invite = services.invite_create(chat=channel, actor=user)
        member, stranger = client_for(other_user), client_for(UserFactory())
        for client, code, status in ((member, "forbidden", 403), (stranger, "not_found", 404)):
            for response in (
                client.get(f"/api/v1/chats/{channel.pk}/invites"),
                client.post(f"/api/v1/chats/{channel.pk}/invites", {}, format="json"),
                client.delete(f"/api/v1/chats/{channel.pk}/invites/{invite.code}"),
            ):
                assert (response.status_code, response.json()["code"]) == (status, code)
        direct = direct_chat(user, other_user)
        for response in (
            client_for(user).get(f"/api/v1/chats/{direct.pk}/invites"),
            client_for(user).post(f"/api/v1/chats/{direct.pk}/invites", {}, format="json"),
        ):
            assert (response.status_code, response.json()["code"]) == (400, "not_allowed_for_direct")
        assert ChatInvite.objects.get().revoked_at is None


class TestPreviewAndJoin:
    def test_anyone_signed_in_previews_then_joins(self, user, channel):
        invite = services.invite_create(chat=channel, actor=user)
        joiner = UserFactory()
        client = client_for(joiner)
        preview = client.get(f"/api/v1/invites/{invite.code}")
        assert preview.status_code == 200
        assert preview.json() == {
            "code": invite.code,
            "chat_id": str(channel.pk),
            "type": "channel",
            "title": "News",
            "description": "",
            "avatar": None,
            "member_count": 2,
            "expires_at": None,
            "is_member": False,
        }
        joined = client.post(f"/api/v1/invites/{invite.code}/join")
        assert joined.status_code == 201
        assert (joined.json()["id"], joined.json()["role"], joined.json()["member_count"]) == (
            str(channel.pk),
            "member",
            3,
        )
        again = client.post(f"/api/v1/invites/{invite.code}/join")
        assert again.status_code == 200 and again.json()["id"] == str(channel.pk)
        assert client.get(f"/api/v1/invites/{invite.code}").json()["is_member"] is True
        assert ChatInvite.objects.get().uses == 1

    def test_links_that_do_not_work(self, user, channel):
        revoked = services.invite_create(chat=channel, actor=user)
        services.invite_revoke(chat=channel, actor=user, code=revoked.code)
        client = client_for(UserFactory())
        for code, status, error in ((revoked.code, 410, "invite_revoked"), ("nope", 404, "not_found")):
            for response in (client.get(f"/api/v1/invites/{code}"), client.post(f"/api/v1/invites/{code}/join")):
                assert (response.status_code, response.json()["code"]) == (status, error)

    def test_banned(self, user, other_user, channel):
        ChatMember.objects.create(chat=channel, user=other_user)
        invite = services.invite_create(chat=channel, actor=user)
        services.chat_member_remove(chat=channel, actor=user, user_id=other_user.pk)
        response = client_for(other_user).post(f"/api/v1/invites/{invite.code}/join")
        assert (response.status_code, response.json()["code"]) == (403, "banned")

    def test_signed_in_users_only(self, api_client, user, channel):
        invite = services.invite_create(chat=channel, actor=user)
        assert api_client.get(f"/api/v1/invites/{invite.code}").status_code == 401
        assert api_client.post(f"/api/v1/invites/{invite.code}/join").status_code == 401

    @pytest.mark.parametrize(
        ("scope", "method", "path"), [("invite_preview", "get", ""), ("invite_join", "post", "/join")]
    )
    def test_throttled_per_user(self, user, channel, settings, scope, method, path):
        invite = services.invite_create(chat=channel, actor=user)
        allowed = int(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"][scope].split("/")[0])
        prober = client_for(UserFactory())
        for index in range(allowed):
            # Wrong codes count as much as the right one: guessing is what this slows down.
            code = invite.code if index % 2 else f"guess{index}"
            assert getattr(prober, method)(f"/api/v1/invites/{code}{path}").status_code in (200, 201, 404)
        throttled = getattr(prober, method)(f"/api/v1/invites/{invite.code}{path}")
        assert (throttled.status_code, throttled.json()["code"]) == (429, "throttled")
        assert int(throttled["Retry-After"]) > 0
        # Per user: someone else is not slowed down.
        assert getattr(client_for(UserFactory()), method)(f"/api/v1/invites/{invite.code}{path}").status_code in (
            200,
            201,
        )
