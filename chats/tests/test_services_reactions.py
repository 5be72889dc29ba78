"""chats.services.reactions: one emoji each, the limits, the events, and exact counts under concurrency."""

import threading

import pytest
from django.db import connection

from chats import services
from chats.models import Message, MessageReaction
from chats.payloads import message_payload
from chats.selectors import message_get_in_chat, message_queryset, reaction_counts, stream_position
from chats.tests.factories import direct_chat, group_chat, send
from chats.tests.test_services_messages import emitted
from messenger.errors import ApplicationError

ONE_EMOJI = ["👍", "❤️", "❤", "👍🏽", "🇫🇷", "1️⃣", "👨‍👩‍👧‍👦", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "🫠"]
NOT_ONE_EMOJI = ["", " ", "a", "ok", "👍👍", "👍 ", "👍a", ":thumbsup:", "\x00", "\u200d", "🇫", "1", "👍" * 40]


@pytest.mark.django_db
@pytest.mark.parametrize("emoji", ONE_EMOJI)
def test_one_emoji_is_a_reaction(alice, bob, emoji):
    chat = direct_chat(alice, bob)
    message = send(alice, chat, "hi")
    services.message_react(user=bob, chat=chat, message=message, emoji=emoji)
    assert reaction_counts(message_ids=[message.pk])[message.pk][0].emoji == emoji


@pytest.mark.django_db
@pytest.mark.parametrize("emoji", NOT_ONE_EMOJI)
def test_anything_else_is_invalid_emoji_and_stores_nothing(alice, bob, emoji):
    chat = direct_chat(alice, bob)
    message = send(alice, chat, "hi")
    before = stream_position()
    for change in (services.message_react, services.message_unreact):
        with pytest.raises(ApplicationError) as refused:
            change(user=bob, chat=chat, message=message, emoji=emoji)
        assert (refused.value.code, refused.value.status) == ("invalid_emoji", 400)
    assert emitted(before) == [] and not MessageReaction.objects.exists()


@pytest.mark.django_db
def test_reactions_events_and_me(alice, bob, carol):
    chat = group_chat(alice, [bob, carol])
    message = send(alice, chat, "hi")
    before = stream_position()
    services.message_react(user=bob, chat=chat, message=message, emoji="👍")
    services.message_react(user=carol, chat=chat, message=message, emoji="🎉")
    services.message_react(user=carol, chat=chat, message=message, emoji="👍")
    services.message_react(user=carol, chat=chat, message=message, emoji="👍")  # again: nothing
    services.message_unreact(user=alice, chat=chat, message=message, emoji="👍")  # not hers: nothing
    services.message_unreact(user=bob, chat=chat, message=message, emoji="👍")
    frames = emitted(before)
    assert all(frame["type"] == "message:reactions" for frame in frames)
    assert [
        (frame["data"]["user_id"], frame["data"]["emoji"], frame["data"]["added"], frame["data"]["reactions"])
        for frame in frames
    ] == [
        (str(bob.pk), "👍", True, [{"emoji": "👍", "count": 1}]),
        (str(carol.pk), "🎉", True, [{"emoji": "👍", "count": 1}, {"emoji": "🎉", "count": 1}]),
        (str(carol.pk), "👍", True, [{"emoji": "👍", "count": 2}, {"emoji": "🎉", "count": 1}]),
        # Bob's 👍 was the first: carol's 🎉 is now older than any 👍 left.
        (str(bob.pk), "👍", False, [{"emoji": "🎉", "count": 1}, {"emoji": "👍", "count": 1}]),
    ]
    assert {frame["data"]["chat_id"] for frame in frames} == {str(chat.pk)}
    # Rendered for a reader, each emoji says whether they left it; without one, only the counts.
    for reader, mine in [(carol, [True, True]), (bob, [False, False]), (alice, [False, False])]:
        rendered = message_payload(message_get_in_chat(chat=chat, message_id=message.pk, user=reader))
        assert [reaction["me"] for reaction in rendered["reactions"]] == mine
    # Without a reader, only the counts (as events carry them).
    assert message_payload(message_queryset().get(pk=message.pk))["reactions"] == [
        {"emoji": "🎉", "count": 1},
        {"emoji": "👍", "count": 1},
    ]


@pytest.mark.django_db
def test_at_most_so_many_different_emoji(alice, bob, settings):
    settings.MESSAGE_MAX_REACTIONS = 2
    chat = direct_chat(alice, bob)
    message = send(alice, chat, "hi")
    services.message_react(user=alice, chat=chat, message=message, emoji="👍")
    services.message_react(user=alice, chat=chat, message=message, emoji="🎉")
    before = stream_position()
    with pytest.raises(ApplicationError) as refused:
        services.message_react(user=bob, chat=chat, message=message, emoji="😂")
    assert (refused.value.code, refused.value.details) == ("too_many_reactions", {"max": 2})
    services.message_react(user=bob, chat=chat, message=message, emoji="🎉")  # one already there: fine
    assert [frame["data"]["emoji"] for frame in emitted(before)] == ["🎉"]


@pytest.mark.django_db
def test_a_deleted_message_takes_no_reactions(alice, bob):
    chat = direct_chat(alice, bob)
    message = send(alice, chat, "hi")
    services.message_delete(user=alice, chat=chat, message=message)
    with pytest.raises(ApplicationError) as refused:
        services.message_react(user=bob, chat=chat, message=message, emoji="👍")
    assert refused.value.code == "not_found"


@pytest.mark.django_db
def test_members_react_in_channels_and_others_not_at_all(alice, bob, carol):
    channel = group_chat(alice, [bob], type="channel")
    post = send(alice, channel, "news")
    services.message_react(user=bob, chat=channel, message=post, emoji="👍")
    with pytest.raises(ApplicationError) as refused:
        services.message_react(user=carol, chat=channel, message=post, emoji="👍")
    assert refused.value.code == "not_found"


def test_two_users_toggling_at_once_leave_exact_counts(transactional_db, alice, bob):
    """Each change sees every one before it: replaying the events in stream order gives, after each,
    exactly the count it carries, and the last matches the table."""
    chat = direct_chat(alice, bob)
    message = send(alice, chat, "toggle me")
    before = stream_position()
    rounds = 15
    errors: list = []
    start = threading.Barrier(2)

    def toggle(user) -> None:
        try:
            start.wait()
            for _ in range(rounds):
                services.message_react(user=user, chat=chat, message=message, emoji="👍")
                services.message_react(user=user, chat=chat, message=message, emoji="🔥")
                services.message_unreact(user=user, chat=chat, message=message, emoji="👍")
            services.message_react(user=user, chat=chat, message=message, emoji="👍")
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=toggle, args=(user,)) for user in (alice, bob)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []

    frames = emitted(before)
    state: dict[str, set[str]] = {}
    for frame in frames:
        data = frame["data"]
        who = state.setdefault(data["emoji"], set())
        (who.add if data["added"] else who.discard)(data["user_id"])
        assert {item["emoji"]: item["count"] for item in data["reactions"]} == {
            emoji: len(users) for emoji, users in state.items() if users
        }
    # Each user: 👍 and 🔥 added and 👍 taken back `rounds` times (🔥 changes only once), 👍 last.
    assert len(frames) == 2 * (2 * rounds + 2)
    stored = {count.emoji: count.count for count in reaction_counts(message_ids=[message.pk])[message.pk]}
    assert stored == {"👍": 2, "🔥": 2}
    assert Message.objects.get(pk=message.pk).deleted_at is None
