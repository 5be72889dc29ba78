"""chats.services.pins: who pins, the limit, the events, the pin list."""

import threading

import pytest
from django.db import connection

from chats import services
from chats.models import ChatMember, MessagePin
from chats.selectors import pin_list, stream_position
from chats.services import pins
from chats.tests.factories import direct_chat, group_chat, send
from chats.tests.test_services_messages import emitted
from messenger.errors import ApplicationError


@pytest.mark.django_db
def test_pinning_publishes_the_pins_and_records_it(alice, bob):
    chat = group_chat(alice, [bob])
    first, second = send(bob, chat, "first"), send(bob, chat, "second")
    before = stream_position()
    assert services.message_pin(user=alice, chat=chat, message=first) == {
        "chat_id": str(chat.pk),
        "pinned_message_ids": [str(first.pk)],
    }
    pinned = services.message_pin(user=alice, chat=chat, message=second)
    assert pinned["pinned_message_ids"] == [str(second.pk), str(first.pk)]  # newest first
    frames = emitted(before)
    assert [frame["type"] for frame in frames] == ["message:new", "chat:pins_updated"] * 2
    system = frames[0]["data"]
    assert (system["kind"], system["sender_id"], system["system"]) == (
        "system",
        str(alice.pk),
        {"event": "message_pinned", "actor_id": str(alice.pk), "message_id": str(first.pk)},
    )
    assert frames[-1]["data"] == pinned

    again = stream_position()
    assert services.message_pin(user=alice, chat=chat, message=second) == pinned  # already: nothing
    assert services.message_unpin(user=alice, chat=chat, message=first)["pinned_message_ids"] == [str(second.pk)]
    assert services.message_unpin(user=alice, chat=chat, message=first)["pinned_message_ids"] == [str(second.pk)]
    assert [frame["type"] for frame in emitted(again)] == ["chat:pins_updated"]  # no system message for unpins


@pytest.mark.django_db
def test_who_pins(alice, bob, carol):
    group = group_chat(alice, [bob, carol])
    ChatMember.objects.filter(chat=group, user=carol).update(role=ChatMember.Role.ADMIN)
    channel = group_chat(alice, [bob], type="channel")
    direct = direct_chat(alice, bob)
    cases = [(group, alice, True), (group, carol, True), (group, bob, False), (channel, bob, False)]
    cases += [(direct, alice, True), (direct, bob, True)]
    for index, (chat, user, allowed) in enumerate(cases):
        message = send(alice, chat, "pin me", client_id=f"pin-{index}")
        for change in (services.message_pin, services.message_unpin):
            try:
                change(user=user, chat=chat, message=message)
            except ApplicationError as error:
                assert (error.code, allowed) == ("forbidden", False)
            else:
                assert allowed
    assert not MessagePin.objects.exists()


@pytest.mark.django_db
def test_at_most_so_many_pins(alice, bob, monkeypatch):
    monkeypatch.setattr(pins, "CHAT_MAX_PINS", 2)
    chat = direct_chat(alice, bob)
    messages = [send(alice, chat, f"m{index}") for index in range(3)]
    for message in messages[:2]:
        services.message_pin(user=bob, chat=chat, message=message)
    before = stream_position()
    with pytest.raises(ApplicationError) as refused:
        services.message_pin(user=bob, chat=chat, message=messages[2])
    assert (refused.value.code, refused.value.details) == ("too_many_pins", {"max": 2})
    assert emitted(before) == []


@pytest.mark.django_db
def test_the_pin_list_is_newest_first_without_what_the_reader_hid(alice, bob):
    chat = direct_chat(alice, bob)
    first, second, gone = send(alice, chat, "first"), send(bob, chat, "second"), send(bob, chat, "gone")
    for message in (first, second, gone):
        services.message_pin(user=alice, chat=chat, message=message)
    services.message_delete(user=bob, chat=chat, message=gone)  # unpinned by the deletion
    services.message_react(user=bob, chat=chat, message=second, emoji="👍")
    services.message_delete(user=bob, chat=chat, message=first, for_everyone=False)
    for_alice = pin_list(chat=chat, user=alice)
    assert [pin.message.text for pin in for_alice] == ["second", "first"]
    assert [pin.pinned_by_id for pin in for_alice] == [alice.pk, alice.pk]
    assert [reaction.me for reaction in for_alice[0].message.reaction_counts] == [False]
    assert [pin.message.text for pin in pin_list(chat=chat, user=bob)] == ["second"]
    with pytest.raises(ApplicationError) as refused:
        services.message_pin(user=alice, chat=chat, message=gone)
    assert refused.value.code == "not_found"


def test_pins_racing_for_the_last_place_leave_exactly_the_limit(transactional_db, alice, bob, monkeypatch):
    monkeypatch.setattr(pins, "CHAT_MAX_PINS", 1)
    chat = direct_chat(alice, bob)
    messages = [send(alice, chat, "a"), send(bob, chat, "b")]
    outcomes: list = []
    start = threading.Barrier(2)

    def pin(user, message) -> None:
        try:
            start.wait()
            services.message_pin(user=user, chat=chat, message=message)
            outcomes.append("pinned")
        except ApplicationError as error:
            outcomes.append(error.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=pin, args=pair) for pair in zip((alice, bob), messages, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["pinned", "too_many_pins"]
    assert MessagePin.objects.count() == 1
