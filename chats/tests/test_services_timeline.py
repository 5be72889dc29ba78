"""chats.services.timeline: the system messages membership, title, avatar and pin changes record."""

import pytest
from django.db import transaction

from chats import services
from chats.models import Message
from chats.selectors import chat_list_for_user, stream_position
from chats.services.timeline import timeline_chat_lock
from chats.tests.factories import group_chat, send
from chats.tests.test_services_messages import emitted
from media.tests.factories import ImageAttachmentFactory


def _system(frames: list[dict]) -> list[dict]:
    return [frame["data"]["system"] for frame in frames if frame["type"] == "message:new"]


@pytest.mark.django_db
def test_membership_changes_are_recorded(alice, bob, carol):
    chat = group_chat(alice, [bob])
    before = stream_position()
    services.chat_member_add(chat=chat, actor=alice, user_ids=[carol.pk])
    services.chat_member_add(chat=chat, actor=alice, user_ids=[carol.pk])  # already in: nothing
    services.chat_member_remove(chat=chat, actor=alice, user_id=carol.pk)
    services.chat_member_remove(chat=chat, actor=bob, user_id=bob.pk)
    frames = emitted(before)
    assert [frame["type"] for frame in frames] == [
        "chat:member_added",
        "message:new",
        "chat:member_removed",
        "message:new",
        "chat:member_removed",
        "message:new",
    ]
    assert _system(frames) == [
        {"event": "member_added", "actor_id": str(alice.pk), "target_ids": [str(carol.pk)]},
        {"event": "member_removed", "actor_id": str(alice.pk), "target_ids": [str(carol.pk)]},
        {"event": "member_left", "actor_id": str(bob.pk), "target_ids": [str(bob.pk)]},
    ]
    assert [message.seq for message in Message.objects.filter(chat=chat).order_by("seq")] == [1, 2, 3]


@pytest.mark.django_db
def test_the_added_member_receives_the_record_of_their_addition(alice, bob):
    """Their events start at their chat:member_added, which comes before the system message."""
    chat = group_chat(alice)
    services.chat_member_add(chat=chat, actor=alice, user_ids=[bob.pk])
    joined = chat.members.get(user=bob).joined_event_id
    recorded = Message.objects.get(chat=chat, kind=Message.Kind.SYSTEM)
    event = next(frame for frame in emitted(joined) if frame["type"] == "message:new")
    assert event["data"]["id"] == str(recorded.pk)


@pytest.mark.django_db
def test_the_last_member_leaving_records_nothing(alice):
    chat = group_chat(alice)
    before = stream_position()
    services.chat_member_remove(chat=chat, actor=alice, user_id=alice.pk)
    assert [frame["type"] for frame in emitted(before)] == ["chat:member_removed", "chat:deleted"]


@pytest.mark.django_db
def test_title_and_avatar_changes_are_recorded(alice, bob):
    chat = group_chat(alice, [bob], title="Old")
    picture = ImageAttachmentFactory(uploader=alice)
    before = stream_position()
    services.chat_update(chat=chat, actor=alice, title="New", avatar_id=picture.pk)
    services.chat_update(chat=chat, actor=alice, title="New", description="only the description")
    services.chat_update(chat=chat, actor=alice, avatar_id=None)
    assert _system(emitted(before)) == [
        {"event": "title_changed", "actor_id": str(alice.pk), "title": "New"},
        {"event": "avatar_changed", "actor_id": str(alice.pk), "avatar_id": str(picture.pk)},
        {"event": "avatar_changed", "actor_id": str(alice.pk), "avatar_id": None},
    ]


@pytest.mark.django_db
def test_joining_by_link_is_recorded_with_its_own_event_name(alice, bob):
    chat = group_chat(alice)
    before = stream_position()
    with transaction.atomic():
        timeline_chat_lock(chat_id=chat.pk)
        recorded = services.timeline_member_joined_by_link(chat=chat, user=bob)
    assert recorded["system"] == {
        "event": "member_joined_by_link",
        "actor_id": str(bob.pk),
        "target_ids": [str(bob.pk)],
    }
    assert [frame["data"] for frame in emitted(before)] == [recorded]


@pytest.mark.django_db
def test_system_messages_are_activity_but_never_unread(alice, bob, carol):
    chat = group_chat(alice, [bob])
    send(alice, chat, "one")
    listed = chat_list_for_user(user=bob).get(pk=chat.pk)
    assert listed.unread_count == 1
    services.chat_member_add(chat=chat, actor=alice, user_ids=[carol.pk])
    services.chat_update(chat=chat, actor=alice, title="Renamed")
    after = chat_list_for_user(user=bob).get(pk=chat.pk)
    assert after.unread_count == 1  # the two system messages are not unread
    assert after.last_activity_at > listed.last_activity_at and after.last_seq == 3
    assert after.last_message_id == Message.objects.get(chat=chat, seq=3).pk
