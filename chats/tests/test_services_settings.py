"""chats.services.settings: mute, archive (with WhatsApp's rule for new messages), pin, and what each
change stores and emits. The chat list (chats.selectors) shows the same state: the service reads it there."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from chats import services
from chats.models import Chat, ChatMember, StreamEvent
from chats.selectors import chat_list_filtered, member_settings_get, stream_position
from chats.services.messages import message_record
from chats.tests.factories import direct_chat, group_chat, send
from chats.tests.locks import race_behind_chat_rows
from chats.tests.test_services_messages import emitted
from messenger.errors import ApplicationError

update = services.chat_settings_update
FOREVER = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)


def listed(user, *, archived=False) -> list[str]:
    return [str(chat.pk) for chat in chat_list_filtered(user=user, archived=archived).order_by("-list_position")]


def stored(user, chat) -> tuple:
    member = ChatMember.objects.get(user=user, chat=chat)
    return member.muted_until, member.archived_seq, member.pinned_at


@pytest.mark.django_db
class TestMute:
    def test_mute_until_a_time_and_forever_then_unmute(self, alice, bob):
        chat = direct_chat(alice, bob)
        soon = timezone.now() + timedelta(hours=8)
        assert update(user=alice, chat_id=chat.pk, muted_until=soon).muted_until == soon
        assert update(user=alice, chat_id=chat.pk, muted_until=FOREVER).muted_until == FOREVER
        assert member_settings_get(chat_id=chat.pk, user=alice).muted_until == FOREVER
        assert update(user=alice, chat_id=chat.pk, muted_until=None).muted_until is None
        assert stored(alice, chat) == (None, None, None)

    def test_a_time_already_past_unmutes(self, alice, bob):
        chat = direct_chat(alice, bob)
        update(user=alice, chat_id=chat.pk, muted_until=FOREVER)
        settings = update(user=alice, chat_id=chat.pk, muted_until=timezone.now() - timedelta(seconds=1))
        assert settings.muted_until is None and stored(alice, chat)[0] is None

    def test_an_ended_mute_shows_as_none(self, alice, bob):
        chat = direct_chat(alice, bob)
        ChatMember.objects.filter(chat=chat, user=alice).update(muted_until=timezone.now() - timedelta(minutes=1))
        assert member_settings_get(chat_id=chat.pk, user=alice).muted_until is None
        before = stream_position()
        update(user=alice, chat_id=chat.pk, muted_until=None)  # what it shows already: nothing to do
        assert emitted(before) == []

    def test_settings_are_the_members_own(self, alice, bob):
        chat = direct_chat(alice, bob)
        update(user=alice, chat_id=chat.pk, muted_until=FOREVER, pinned=True)
        assert member_settings_get(chat_id=chat.pk, user=bob).muted_until is None
        assert member_settings_get(chat_id=chat.pk, user=bob).pinned_at is None


@pytest.mark.django_db
class TestEvents:
    def test_a_change_is_one_event_to_the_user_only(self, alice, bob):
        chat = direct_chat(alice, bob)
        before = stream_position()
        settings = update(user=alice, chat_id=chat.pk, archived=True, origin="ws.x.y")
        (frame,) = emitted(before)
        assert frame["type"] == "chat:settings_updated"
        assert frame["data"] == {
            "chat_id": str(chat.pk),
            "muted_until": None,
            "archived": True,
            "pinned": False,
            "pinned_at": None,
        }
        assert settings.archived is True
        row = StreamEvent.objects.get(pk=frame["cursor"])
        assert (row.user_id, row.chat_id, row.origin) == (alice.pk, None, "ws.x.y")

    def test_no_change_no_event(self, alice, bob):
        chat = direct_chat(alice, bob)
        update(user=alice, chat_id=chat.pk, pinned=True)
        before = stream_position()
        pinned_at = stored(alice, chat)[2]
        update(user=alice, chat_id=chat.pk, pinned=True)
        update(user=alice, chat_id=chat.pk)
        assert emitted(before) == []
        assert stored(alice, chat)[2] == pinned_at  # pinning again keeps its place

    def test_a_non_member_gets_not_found_and_nothing_changes(self, alice, bob, carol):
        chat = direct_chat(alice, bob)
        before = stream_position()
        with pytest.raises(ApplicationError) as refused:
            update(user=carol, chat_id=chat.pk, archived=True)
        assert refused.value.code == "not_found"
        Chat.objects.filter(pk=chat.pk).update(deleted_at=timezone.now())
        with pytest.raises(ApplicationError) as deleted:
            update(user=alice, chat_id=chat.pk, archived=True)
        assert deleted.value.code == "not_found"
        assert emitted(before) == []


@pytest.mark.django_db
class TestArchive:
    def test_archived_chats_leave_the_list_for_the_archive(self, alice, bob):
        chat, other = direct_chat(alice, bob), group_chat(alice, [bob])
        update(user=alice, chat_id=chat.pk, archived=True)
        assert listed(alice) == [str(other.pk)]
        assert listed(alice, archived=True) == [str(chat.pk)]
        assert str(chat.pk) in listed(bob)  # bob's list is his own
        update(user=alice, chat_id=chat.pk, archived=False)
        assert set(listed(alice)) == {str(chat.pk), str(other.pk)} and listed(alice, archived=True) == []

    def test_a_message_from_someone_else_brings_an_unmuted_chat_back(self, alice, bob):
        chat = direct_chat(alice, bob)
        send(bob, chat, "before")
        update(user=alice, chat_id=chat.pk, archived=True)
        send(alice, chat, "my own")  # the user's own messages leave it archived
        assert member_settings_get(chat_id=chat.pk, user=alice).archived is True
        before = stream_position()
        send(bob, chat, "news")
        assert member_settings_get(chat_id=chat.pk, user=alice).archived is False
        assert str(chat.pk) in listed(alice) and listed(alice, archived=True) == []
        # Derived, not written: the send emits its message and nothing else.
        assert [frame["type"] for frame in emitted(before)] == ["message:new"]

    def test_a_muted_chat_stays_archived(self, alice, bob):
        chat = direct_chat(alice, bob)
        update(user=alice, chat_id=chat.pk, archived=True, muted_until=FOREVER)
        send(bob, chat, "ignored")
        assert member_settings_get(chat_id=chat.pk, user=alice).archived is True
        assert listed(alice, archived=True) == [str(chat.pk)]

    def test_system_messages_do_not_bring_it_back(self, alice, bob):
        group = group_chat(alice, [bob])
        update(user=alice, chat_id=group.pk, archived=True)
        message_record(chat=group, actor=bob, kind="system", system={"event": "test"})
        assert member_settings_get(chat_id=group.pk, user=alice).archived is True
        message_record(chat=group, actor=bob, kind="call", system={"event": "call_ended"})
        assert member_settings_get(chat_id=group.pk, user=alice).archived is False

    def test_after_the_mute_ends_the_next_message_brings_it_back(self, alice, bob):
        chat = direct_chat(alice, bob)
        update(user=alice, chat_id=chat.pk, archived=True, muted_until=timezone.now() + timedelta(hours=1))
        during = send(bob, chat, "while muted")
        # The mute ends: what arrived during it still leaves the chat archived...
        ended = during.created_at + timedelta(microseconds=1)
        ChatMember.objects.filter(chat=chat, user=alice).update(muted_until=ended)
        assert member_settings_get(chat_id=chat.pk, user=alice).archived is True
        # ...and the first message after it does not.
        send(bob, chat, "after")
        assert member_settings_get(chat_id=chat.pk, user=alice).archived is False

    def test_unmuting_an_archived_chat_does_not_count_what_arrived_while_muted(self, alice, bob):
        chat = direct_chat(alice, bob)
        update(user=alice, chat_id=chat.pk, archived=True, muted_until=FOREVER)
        send(bob, chat, "while muted")
        settings = update(user=alice, chat_id=chat.pk, muted_until=None)
        assert settings.archived is True and stored(alice, chat)[1] == Chat.objects.get(pk=chat.pk).last_seq
        send(bob, chat, "now unmuted")
        assert member_settings_get(chat_id=chat.pk, user=alice).archived is False

    def test_settings_after_a_chat_came_back_start_from_there(self, alice, bob):
        chat = direct_chat(alice, bob)
        update(user=alice, chat_id=chat.pk, archived=True)
        send(bob, chat, "back")
        settings = update(user=alice, chat_id=chat.pk, muted_until=FOREVER)
        assert (settings.archived, stored(alice, chat)[1]) == (False, None)


@pytest.mark.django_db
class TestPin:
    def test_pinned_chats_come_first_newest_pin_first(self, alice, bob, carol):
        first, second, third = group_chat(alice, title="1"), group_chat(alice, title="2"), direct_chat(alice, bob)
        send(alice, third, "the newest activity")
        update(user=alice, chat_id=first.pk, pinned=True)
        update(user=alice, chat_id=second.pk, pinned=True)
        assert listed(alice) == [str(second.pk), str(first.pk), str(third.pk)]
        update(user=alice, chat_id=second.pk, pinned=False)
        assert listed(alice) == [str(first.pk), str(third.pk), str(second.pk)]

    def test_archiving_unpins_and_pinning_unarchives(self, alice, bob):
        chat = direct_chat(alice, bob)
        update(user=alice, chat_id=chat.pk, pinned=True)
        settings = update(user=alice, chat_id=chat.pk, archived=True)
        assert (settings.archived, settings.pinned_at) == (True, None)
        settings = update(user=alice, chat_id=chat.pk, pinned=True)
        assert settings.archived is False and settings.pinned_at is not None
        assert stored(alice, chat)[1] is None

    def test_pinned_and_archived_at_once_is_refused_and_nothing_is_stored(self, alice, bob):
        chat = direct_chat(alice, bob)
        before = stream_position()
        with pytest.raises(ApplicationError) as refused:
            update(user=alice, chat_id=chat.pk, archived=True, pinned=True, muted_until=FOREVER)
        assert (refused.value.code, list(refused.value.details)) == ("validation_error", ["pinned"])
        assert stored(alice, chat) == (None, None, None) and emitted(before) == []

    def test_at_most_five_pinned(self, alice, settings):
        chats = [group_chat(alice, title=str(index)) for index in range(settings.CHAT_MAX_PINNED + 1)]
        for chat in chats[:-1]:
            update(user=alice, chat_id=chat.pk, pinned=True)
        before = stream_position()
        with pytest.raises(ApplicationError) as refused:
            update(user=alice, chat_id=chats[-1].pk, pinned=True, muted_until=FOREVER)
        assert (refused.value.code, refused.value.details) == ("too_many_pinned", {"max": 5})
        assert stored(alice, chats[-1]) == (None, None, None) and emitted(before) == []
        # Already pinned: repinning is no new pin. A deleted chat holds no place.
        update(user=alice, chat_id=chats[0].pk, pinned=True)
        services.chat_delete(chat=chats[0], actor=alice)
        assert update(user=alice, chat_id=chats[-1].pk, pinned=True).pinned_at is not None

    def test_a_new_membership_starts_without_settings(self, alice, bob):
        group = group_chat(alice, [bob])
        update(user=bob, chat_id=group.pk, pinned=True, muted_until=FOREVER)
        services.chat_member_remove(chat=group, actor=bob, user_id=bob.pk)
        services.chat_member_add(chat=group, actor=alice, user_ids=[bob.pk])
        assert stored(bob, group) == (None, None, None)


def test_two_pins_at_once_cannot_both_take_the_last_place(transactional_db, alice, settings):
    """Both wait on the chat rows a rival holds; once it lets go, one pins and the other is refused."""
    settings.CHAT_MAX_PINNED = 1
    chats = [group_chat(alice, title="a"), group_chat(alice, title="b")]
    outcomes = race_behind_chat_rows(
        [chat.pk for chat in chats],
        [lambda chat=chat: update(user=alice, chat_id=chat.pk, pinned=True).chat_id for chat in chats],
    )
    assert outcomes.count("too_many_pinned") == 1
    (pinned,) = [outcome for outcome in outcomes if outcome != "too_many_pinned"]
    assert ChatMember.objects.get(user=alice, pinned_at__isnull=False).chat_id == pinned
