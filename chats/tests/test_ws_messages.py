"""The message frames (edit, delete, react, unreact, pin, unpin, forwards, mentions) over the socket.

Every frame the tests receive is checked against docs/asyncapi.yaml (chats.tests.ws).
"""

import uuid

import pytest
from channels.db import database_sync_to_async

from chats import services
from chats.models import ChatMember, Message, MessageHidden, MessagePin, MessageReaction
from chats.tests.asyncapi import validate_reply
from chats.tests.factories import direct_chat, group_chat, send
from chats.tests.ws import connect

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio, pytest.mark.usefixtures("ws_cleanup")]
db = database_sync_to_async


async def _ack(client, event_type: str, data: dict) -> dict:
    reply = await client.request(event_type, data)
    validate_reply(event_type, reply)
    assert reply["type"] == "ack", reply
    return reply["data"]


async def _error(client, event_type: str, data: dict) -> str:
    reply = await client.request(event_type, data)
    validate_reply(event_type, reply)
    assert reply["type"] == "error", reply
    return reply["data"]["code"]


async def test_delete_for_me_reaches_every_device_of_that_user_and_nobody_else(alice, bob):
    chat = await db(direct_chat)(alice, bob)
    message = await db(send)(alice, chat, "regret")
    phone, laptop = await connect(bob, device="phone"), await connect(bob, device="laptop")
    a = await connect(alice)
    deleted = await _ack(phone, "message:delete", {"message_id": str(message.pk), "for_everyone": False})
    assert deleted == {
        "chat_id": str(chat.pk),
        "message_id": str(message.pk),
        "seq": message.seq,
        "by": str(bob.pk),
        "for_everyone": False,
    }
    assert (await laptop.receive_type("message:deleted"))["data"] == deleted
    assert await phone.nothing() and await a.nothing()
    # Gone for bob on every path: the socket's own frames find no such message any more.
    assert await _error(laptop, "message:react", {"message_id": str(message.pk), "emoji": "👍"}) == "not_found"
    assert await _error(laptop, "message:delete", {"message_id": str(message.pk), "for_everyone": False}) == (
        "not_found"
    )
    # Alice still has it, and may still react to it.
    assert (await _ack(a, "message:react", {"message_id": str(message.pk), "emoji": "👍"}))["message"]["text"] == (
        "regret"
    )


async def test_edits_and_deletes_for_everyone_reach_the_other_members(alice, bob, carol):
    chat = await db(group_chat)(alice, [bob, carol])
    message = await db(send)(bob, chat, "typo")
    a, b, c = await connect(alice), await connect(bob), await connect(carol)
    edited = await _ack(b, "message:edit", {"message_id": str(message.pk), "text": "fixed, @carol"})
    assert edited["message"]["mentions"] == [str(carol.pk)]
    for other in (a, c):
        assert (await other.receive_type("message:updated"))["data"]["text"] == "fixed, @carol"
    assert await _error(c, "message:edit", {"message_id": str(message.pk), "text": "mine now"}) == "forbidden"
    assert await _error(c, "message:delete", {"message_id": str(message.pk)}) == "forbidden"
    tombstone = await _ack(a, "message:delete", {"message_id": str(message.pk)})  # the owner moderates
    assert tombstone["for_everyone"] is True
    for other in (b, c):
        assert (await other.receive_type("message:deleted"))["data"] == tombstone
    assert await _error(b, "message:edit", {"message_id": str(message.pk), "text": "back"}) == "not_found"


async def test_reactions_and_pins_over_the_socket(alice, bob):
    chat = await db(group_chat)(alice, [bob])
    message = await db(send)(alice, chat, "pin and like")
    a, b = await connect(alice), await connect(bob)
    ref = {"message_id": str(message.pk)}
    liked = await _ack(b, "message:react", {**ref, "emoji": "🎉"})
    assert liked["message"]["reactions"] == [{"emoji": "🎉", "count": 1, "me": True}]
    event = (await a.receive_type("message:reactions"))["data"]
    assert event == {
        "chat_id": str(chat.pk),
        "message_id": str(message.pk),
        "reactions": [{"emoji": "🎉", "count": 1}],
        "user_id": str(bob.pk),
        "emoji": "🎉",
        "added": True,
    }
    assert await _error(b, "message:pin", ref) == "forbidden"  # a plain member of a group
    assert (await _ack(a, "message:pin", ref))["pinned_message_ids"] == [str(message.pk)]
    assert (await b.receive_type("message:new"))["data"]["system"]["event"] == "message_pinned"
    assert (await b.receive_type("chat:pins_updated"))["data"]["pinned_message_ids"] == [str(message.pk)]
    assert (await _ack(a, "message:unpin", ref))["pinned_message_ids"] == []
    assert (await b.receive_type("chat:pins_updated"))["data"]["pinned_message_ids"] == []


async def test_forwards_and_mentions_over_the_socket(alice, bob, carol):
    source = await db(direct_chat)(alice, bob)
    original = await db(send)(bob, source, "pass it on")
    group = await db(group_chat)(alice, [carol])
    a, c = await connect(alice), await connect(carol)
    forward = {"chat_id": str(source.pk), "message_id": str(original.pk)}
    data = {"chat_id": str(group.pk), "client_id": "fwd", "forward_from": forward}
    sent = (await _ack(a, "message:send", data))["message"]
    assert sent["text"] == "pass it on" and sent["forwarded_from"]["sender_id"] == str(bob.pk)
    assert sent["forwarded_from"]["chat_id"] is None  # a direct chat is never named
    assert (await c.receive_type("message:new"))["data"] == sent
    mention = {"chat_id": str(group.pk), "client_id": "m", "text": f"hey @{carol.username}"}
    assert (await _ack(a, "message:send", mention))["message"]["mentions"] == [str(carol.pk)]
    assert await _error(c, "message:send", {**data, "client_id": "again"}) == "not_found"  # not in the source


@pytest.mark.parametrize(
    ("event_type", "data", "code"),
    [
        ("message:edit", {"text": "no id"}, "validation_error"),
        ("message:edit", {"message_id": "nope", "text": "x"}, "validation_error"),
        ("message:edit", {"message_id": "MESSAGE"}, "validation_error"),
        ("message:edit", {"message_id": "MESSAGE", "text": None}, "validation_error"),
        ("message:edit", {"message_id": "MESSAGE", "text": "nul \x00"}, "validation_error"),
        ("message:edit", {"message_id": "MESSAGE", "text": "lone \udfff"}, "validation_error"),
        ("message:edit", {"message_id": "MESSAGE", "text": "x" * 4097}, "text_too_long"),
        ("message:edit", {"message_id": "MESSAGE", "text": " \n\t "}, "empty_message"),
        ("message:edit", {"message_id": "UNKNOWN", "text": "x"}, "not_found"),
        ("message:delete", {"message_id": "MESSAGE", "for_everyone": "perhaps"}, "validation_error"),
        ("message:delete", {"message_id": "UNKNOWN"}, "not_found"),
        ("message:delete", {"message_id": "THEIRS"}, "forbidden"),
        ("message:react", {"message_id": "MESSAGE"}, "validation_error"),
        ("message:react", {"message_id": "MESSAGE", "emoji": ""}, "validation_error"),
        ("message:react", {"message_id": "MESSAGE", "emoji": ["👍"]}, "validation_error"),
        ("message:react", {"message_id": "MESSAGE", "emoji": "\x00"}, "validation_error"),
        ("message:react", {"message_id": "MESSAGE", "emoji": "👍👍"}, "invalid_emoji"),
        ("message:react", {"message_id": "MESSAGE", "emoji": "A"}, "invalid_emoji"),
        ("message:react", {"message_id": "UNKNOWN", "emoji": "👍"}, "not_found"),
        ("message:unreact", {"message_id": "MESSAGE", "emoji": "thumbs"}, "invalid_emoji"),
        ("message:pin", {}, "validation_error"),
        ("message:pin", {"message_id": "UNKNOWN"}, "not_found"),
        ("message:unpin", {"message_id": ["not", "an", "id"]}, "validation_error"),
        (
            "message:send",
            {"chat_id": "CHAT", "client_id": "f", "forward_from": {"chat_id": "CHAT"}},
            "validation_error",
        ),
        (
            "message:send",
            {
                "chat_id": "CHAT",
                "client_id": "f",
                "text": "both",
                "forward_from": {"chat_id": "CHAT", "message_id": "MESSAGE"},
            },
            "validation_error",
        ),
        ("message:send", {"chat_id": "CHAT", "client_id": "f", "text": "x" * 4097}, "text_too_long"),
    ],
)
async def test_bad_input_is_answered_with_its_code_and_changes_nothing(alice, bob, event_type, data, code):
    chat = await db(group_chat)(alice, [bob])
    message = await db(send)(alice, chat, "untouched")
    theirs = await db(send)(bob, chat, "bob's")
    await db(ChatMember.objects.filter(chat=chat, user=alice).update)(role=ChatMember.Role.MEMBER)
    names = {"MESSAGE": str(message.pk), "THEIRS": str(theirs.pk), "UNKNOWN": str(uuid.uuid4()), "CHAT": str(chat.pk)}

    def filled(value):
        if isinstance(value, dict):
            return {key: filled(item) for key, item in value.items()}
        return names.get(value, value) if isinstance(value, str) else value

    a = await connect(alice)
    assert await _error(a, event_type, filled(data)) == code

    def unchanged() -> bool:
        stored = Message.objects.get(pk=message.pk)
        return (
            (stored.text, stored.edited_at, stored.deleted_at) == ("untouched", None, None)
            and Message.objects.filter(chat=chat).count() == 2
            and not MessageReaction.objects.exists()
            and not MessagePin.objects.exists()
            and not MessageHidden.objects.exists()
        )

    assert await db(unchanged)()


async def test_every_new_event_is_replayed_after_a_disconnect(alice, bob, carol):
    group = await db(group_chat)(alice, [bob])
    message = await db(send)(alice, group, "hello @bob")
    b = await connect(bob)
    cursor = b.ready["data"]["cursor"]
    await b.close()

    def while_bob_is_away() -> None:
        services.message_edit(user=alice, chat=group, message=message, text="hello again @bob")
        services.message_react(user=alice, chat=group, message=message, emoji="👍")
        services.message_pin(user=alice, chat=group, message=message)
        services.chat_member_add(chat=group, actor=alice, user_ids=[carol.pk])
        mine = send(bob, group, "bob's own", client_id="own")
        services.message_delete(user=bob, chat=group, message=mine, for_everyone=False)
        services.message_delete(user=alice, chat=group, message=message)  # also unpins it

    await db(while_bob_is_away)()
    b = await connect(bob, device="back")
    ref = await b.send("sync:request", {"cursor": cursor})
    replayed = []
    while (frame := await b.receive())["type"] != "sync:done":
        replayed.append(frame)
    await b.reply(ref)
    summary = [
        (frame["type"], (frame["data"].get("system") or {}).get("event") or frame["data"].get("for_everyone"))
        for frame in replayed
    ]
    assert summary == [
        ("message:updated", None),
        ("message:reactions", None),
        ("message:new", "message_pinned"),
        ("chat:pins_updated", None),
        ("chat:member_added", None),
        ("message:new", "member_added"),
        ("message:new", None),
        ("message:deleted", False),
        ("message:deleted", True),
        ("chat:pins_updated", None),
    ]
    assert replayed[-1]["data"]["pinned_message_ids"] == []
