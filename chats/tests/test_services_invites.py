"""chats.services.invites: who creates and revokes links, what joining through one does, every way a
link stops working, bans, and two joins racing for the last use."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.tests.factories import UserFactory
from chats import services
from chats.models import ChatInvite, ChatMember, Message, StreamEvent
from chats.selectors import stream_position
from chats.tests.factories import direct_chat, group_chat
from chats.tests.locks import race_behind_chat_rows
from chats.tests.test_services_messages import emitted
from messenger.errors import ApplicationError


@pytest.fixture
def team(alice, bob, carol):
    """alice owns a group where bob is an admin and carol a member."""
    chat = group_chat(alice, [bob, carol])
    ChatMember.objects.filter(chat=chat, user=bob).update(role="admin")
    return chat


def refused(call) -> ApplicationError:
    with pytest.raises(ApplicationError) as error:
        call()
    return error.value


@pytest.mark.django_db
class TestCreateAndRevoke:
    def test_owners_and_admins_create_links_that_only_they_hear_of(self, team, alice, bob):
        before = stream_position()
        invite = services.invite_create(chat=team, actor=bob, max_uses=10)
        frames = emitted(before)
        assert [frame["type"] for frame in frames] == ["chat:invite_created"] * 2
        events = StreamEvent.objects.filter(pk__in=[frame["cursor"] for frame in frames])
        assert {(event.user_id, event.chat_id) for event in events} == {(alice.pk, None), (bob.pk, None)}
        assert frames[0]["data"]["invite"] == {
            **frames[0]["data"]["invite"],
            "code": invite.code,
            "chat_id": str(team.pk),
            "created_by": str(bob.pk),
            "max_uses": 10,
            "uses": 0,
            "revoked_at": None,
        }
        assert frames[0]["data"]["by"] == str(bob.pk)

    def test_codes_are_unguessable(self, team, alice):
        codes = {services.invite_create(chat=team, actor=alice).code for _ in range(20)}
        assert len(codes) == 20
        for code in codes:
            # URL-safe base64 of 18 random bytes: 24 characters, 144 bits (at least 128).
            assert re.fullmatch(r"[A-Za-z0-9_-]{24}", code), code

    def test_who_may_not(self, team, alice, bob, carol):
        stranger = UserFactory()
        direct = direct_chat(alice, bob)
        before = stream_position()
        assert refused(lambda: services.invite_create(chat=team, actor=carol)).code == "forbidden"
        assert refused(lambda: services.invite_create(chat=team, actor=stranger)).code == "not_found"
        assert refused(lambda: services.invite_create(chat=direct, actor=alice)).code == "not_allowed_for_direct"
        past = timezone.now() - timedelta(seconds=1)
        error = refused(lambda: services.invite_create(chat=team, actor=alice, expires_at=past))
        assert (error.code, list(error.details)) == ("validation_error", ["expires_at"])
        assert not ChatInvite.objects.exists() and emitted(before) == []

    def test_revoke_once(self, team, alice, bob, carol):
        invite = services.invite_create(chat=team, actor=alice)
        assert refused(lambda: services.invite_revoke(chat=team, actor=carol, code=invite.code)).code == "forbidden"
        before = stream_position()
        revoked = services.invite_revoke(chat=team, actor=bob, code=invite.code)
        assert revoked.revoked_at is not None
        assert [frame["type"] for frame in emitted(before)] == ["chat:invite_revoked"] * 2
        before = stream_position()
        assert services.invite_revoke(chat=team, actor=alice, code=invite.code).revoked_at == revoked.revoked_at
        assert emitted(before) == []
        other = group_chat(alice)
        assert refused(lambda: services.invite_revoke(chat=other, actor=alice, code=invite.code)).code == "not_found"


@pytest.mark.django_db
class TestJoin:
    def test_joining_adds_the_member_and_records_it_in_the_timeline(self, team, alice):
        joiner = UserFactory()
        invite = services.invite_create(chat=team, actor=alice, max_uses=2)
        before = stream_position()
        chat, joined = services.invite_join(user=joiner, code=invite.code)
        assert (chat.pk, joined) == (team.pk, True)
        added, system = emitted(before)
        assert added["type"] == "chat:member_added"
        assert added["data"]["member"]["user"]["id"] == str(joiner.pk) and added["data"]["by"] == str(joiner.pk)
        assert system["type"] == "message:new"
        assert (system["data"]["kind"], system["data"]["sender_id"]) == ("system", str(joiner.pk))
        assert system["data"]["system"] == {
            "event": "member_joined_by_link",
            "actor_id": str(joiner.pk),
            "target_ids": [str(joiner.pk)],
        }
        member = ChatMember.objects.get(chat=team, user=joiner)
        # The new member hears of their own joining and of everything after it.
        assert (member.role, member.joined_event_id) == ("member", added["cursor"] - 1)
        assert ChatInvite.objects.get(pk=invite.code).uses == 1

    def test_joining_again_changes_nothing(self, team, alice, carol):
        invite = services.invite_create(chat=team, actor=alice, max_uses=1)
        services.invite_revoke(chat=team, actor=alice, code=invite.code)
        before = stream_position()
        # A member is in, whatever became of the link since.
        assert services.invite_join(user=carol, code=invite.code) == (team, False)
        assert emitted(before) == [] and ChatInvite.objects.get(pk=invite.code).uses == 0

    def test_links_that_no_longer_work(self, team, alice):
        joiner = UserFactory()
        expired = services.invite_create(chat=team, actor=alice, expires_at=timezone.now() + timedelta(hours=1))
        ChatInvite.objects.filter(pk=expired.code).update(expires_at=timezone.now())
        revoked = services.invite_create(chat=team, actor=alice)
        services.invite_revoke(chat=team, actor=alice, code=revoked.code)
        used_up = services.invite_create(chat=team, actor=alice, max_uses=1)
        services.invite_join(user=UserFactory(), code=used_up.code)
        both = services.invite_create(chat=team, actor=alice, expires_at=timezone.now() + timedelta(hours=1))
        ChatInvite.objects.filter(pk=both.code).update(expires_at=timezone.now(), revoked_at=timezone.now())
        before = stream_position()
        for code, expected in (
            (expired.code, "invite_expired"),
            (revoked.code, "invite_revoked"),
            (used_up.code, "invite_exhausted"),
            (both.code, "invite_revoked"),
            ("no-such-code", "not_found"),
        ):
            error = refused(lambda code=code: services.invite_join(user=joiner, code=code))
            assert (error.code, error.status) == (expected, 404 if expected == "not_found" else 410)
        assert emitted(before) == [] and not ChatMember.objects.filter(user=joiner).exists()

    def test_a_deleted_chats_links_are_not_found(self, team, alice):
        invite = services.invite_create(chat=team, actor=alice)
        services.chat_delete(chat=team, actor=alice)
        assert refused(lambda: services.invite_join(user=UserFactory(), code=invite.code)).code == "not_found"

    def test_removed_members_are_banned_until_added_back_and_leaving_is_no_ban(self, team, alice, bob, carol):
        invite = services.invite_create(chat=team, actor=alice)
        services.chat_member_remove(chat=team, actor=bob, user_id=carol.pk)
        before = stream_position()
        error = refused(lambda: services.invite_join(user=carol, code=invite.code))
        assert (error.code, error.status) == ("banned", 403)
        assert emitted(before) == [] and ChatInvite.objects.get(pk=invite.code).uses == 0
        services.chat_member_add(chat=team, actor=bob, user_ids=[carol.pk])
        services.chat_member_remove(chat=team, actor=carol, user_id=carol.pk)
        assert services.invite_join(user=carol, code=invite.code) == (team, True)


def test_two_joins_for_the_last_use_one_wins(transactional_db, alice):
    """Both joins wait on the chat row a rival holds; once it lets go, exactly one gets in."""
    chat = group_chat(alice)
    invite = services.invite_create(chat=chat, actor=alice, max_uses=1)
    joiners = [UserFactory(), UserFactory()]
    outcomes = race_behind_chat_rows(
        [chat.pk], [lambda user=user: services.invite_join(user=user, code=invite.code)[1] for user in joiners]
    )
    assert sorted(map(str, outcomes)) == ["True", "invite_exhausted"]
    assert ChatInvite.objects.get(pk=invite.code).uses == 1
    assert ChatMember.objects.filter(chat=chat, user__in=joiners).count() == 1
    assert Message.objects.filter(chat=chat, kind="system").count() == 1
