"""A message send has two implementations per step; each pair must agree.

* Input: `message_send_input` checks ordinary `message:send` frames itself and hands anything
  else to MessageSendSerializer; its result must be the serializer's, and every error the
  serializer's.
* Storage: on PostgreSQL a text message is stored by the chats_message_send function, elsewhere
  (and with attachments) by the ORM. Both must apply the same rules, produce the same errors and
  store and publish the same thing. The ORM path is exercised here on whatever database the suite
  runs on; the function only where that is PostgreSQL (CI).
"""

import uuid

import pytest
from django.conf import settings
from django.db import connection

from accounts.models import Block
from accounts.tests.factories import UserFactory
from chats.api.serializers import MessageSendSerializer
from chats.handlers import message_send_input
from chats.models import Chat, ChatMember, Message, StreamEvent
from chats.services import messages as message_services
from chats.tests.factories import direct_chat, group_chat, send
from messenger.errors import ApplicationError

CHAT = str(uuid.uuid4())
REPLY = str(uuid.uuid4())


def _serializer_result(data):
    serializer = MessageSendSerializer(data=data)
    if serializer.is_valid():
        return "ok", dict(serializer.validated_data)
    return "error", serializer.errors


def _fast_result(data):
    try:
        return "ok", message_send_input(data)
    except ApplicationError as error:
        assert error.code == "validation_error"
        return "error", error.details


@pytest.mark.parametrize(
    "data",
    [
        {"chat_id": CHAT, "client_id": "c1", "text": "hello"},
        {"chat_id": CHAT, "client_id": "c1", "text": "  padded  "},
        {"chat_id": CHAT, "client_id": "c1", "text": "emoji 👋 and ünïcode"},
        {"chat_id": CHAT, "client_id": "c1"},
        {"chat_id": CHAT, "client_id": "c1", "text": "", "reply_to": REPLY},
        {"chat_id": CHAT, "client_id": "c1", "text": "x", "reply_to": None, "attachment_ids": []},
        {"chat_id": CHAT.replace("-", ""), "client_id": "c1", "text": "undashed uuid"},
        {"chat_id": CHAT.upper(), "client_id": "c1", "text": "upper-case uuid"},
        {"chat_id": CHAT, "client_id": "c1", "text": "x" * settings.MESSAGE_MAX_LENGTH},
        {"chat_id": CHAT, "client_id": "c" * 64, "text": "longest client id"},
        {"chat_id": CHAT, "client_id": "c1", "text": "extra keys", "unknown": 1},
        # From here on the fast check declines and the serializer decides.
        {"chat_id": CHAT, "client_id": " c1 ", "text": "client id trimmed by DRF"},
        {"chat_id": CHAT, "client_id": 12, "text": "numeric client id"},
        {"chat_id": CHAT, "client_id": "c1", "text": 42},
        {"chat_id": CHAT, "client_id": "c1", "text": "x" * (settings.MESSAGE_MAX_LENGTH + 1)},
        {"chat_id": CHAT, "client_id": "c" * 65, "text": "long client id"},
        {"chat_id": CHAT, "client_id": "", "text": "blank client id"},
        {"chat_id": CHAT, "client_id": "   ", "text": "blank client id"},
        {"chat_id": CHAT, "text": "no client id"},
        {"client_id": "c1", "text": "no chat"},
        {"chat_id": "not-a-uuid", "client_id": "c1", "text": "bad chat"},
        {"chat_id": None, "client_id": "c1", "text": "null chat"},
        {"chat_id": CHAT, "client_id": "c1", "text": None},
        {"chat_id": CHAT, "client_id": "c1", "text": "nul \x00 character"},
        {"chat_id": CHAT, "client_id": "c1", "text": "lone surrogate \ud800"},
        {"chat_id": CHAT, "client_id": "c\x00", "text": "nul in client id"},
        {"chat_id": CHAT, "client_id": "c1", "text": "bad reply", "reply_to": ""},
        {"chat_id": CHAT, "client_id": "c1", "text": "bad reply", "reply_to": 7},
        {"chat_id": CHAT, "client_id": "c1", "text": "x", "attachment_ids": None},
        {"chat_id": CHAT, "client_id": "c1", "text": "", "attachment_ids": [REPLY]},
        {"chat_id": CHAT, "client_id": "c1", "text": "", "attachment_ids": ["nope"]},
    ],
)
def test_the_frame_check_agrees_with_the_serializer(data):
    assert _fast_result(data) == _serializer_result(data)


# --- storage -------------------------------------------------------------------------------------

needs_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the one-statement send exists on PostgreSQL only"
)


def _orm_send(**fields):
    text = message_services._checked_text(fields.pop("text", ""), ())
    fields.setdefault("reply_to", None)
    return message_services._message_send_orm(text=text, attachment_ids=(), origin="", **fields)


def _function_send(**fields):
    return message_services.message_send(**fields)


def _outcome(send_function, **fields):
    try:
        message, duplicate = send_function(**fields)
    except ApplicationError as error:
        return ("error", error.code, error.status)
    return ("duplicate" if duplicate else "ok", message.text, message.seq)


def _cases(alice, bob, carol):
    """(name, fields) pairs covering every rule of a send, in the order they are checked."""
    direct = direct_chat(alice, bob)
    first = send(alice, direct, "first", client_id="first")
    channel = group_chat(alice, [bob], type=Chat.Type.CHANNEL, title="News")
    other = group_chat(alice, [bob], title="Other")
    blocked_direct = direct_chat(alice, carol)
    Block.objects.create(blocker=carol, blocked=alice)
    left = group_chat(carol, [alice], title="Left")
    ChatMember.objects.filter(chat=left, user=alice).delete()
    deleted = group_chat(alice, [bob], title="Deleted")
    Chat.objects.filter(pk=deleted.pk).update(deleted_at=first.created_at)
    return [
        ("ok", {"sender": alice, "chat_id": direct.pk, "client_id": "new", "text": "hi"}),
        ("reply", {"sender": bob, "chat_id": direct.pk, "client_id": "reply", "text": "re", "reply_to": first.pk}),
        ("repeat", {"sender": alice, "chat_id": direct.pk, "client_id": "first", "text": "ignored"}),
        ("repeat_elsewhere", {"sender": alice, "chat_id": other.pk, "client_id": "first", "text": "x"}),
        ("not_member", {"sender": alice, "chat_id": left.pk, "client_id": "n1", "text": "x"}),
        ("no_chat", {"sender": alice, "chat_id": uuid.uuid4(), "client_id": "n2", "text": "x"}),
        ("deleted_chat", {"sender": alice, "chat_id": deleted.pk, "client_id": "n3", "text": "x"}),
        ("channel_member", {"sender": bob, "chat_id": channel.pk, "client_id": "n4", "text": "x"}),
        ("channel_owner", {"sender": alice, "chat_id": channel.pk, "client_id": "n5", "text": "x"}),
        ("blocked", {"sender": alice, "chat_id": blocked_direct.pk, "client_id": "n6", "text": "x"}),
        ("blocked_other_way", {"sender": carol, "chat_id": blocked_direct.pk, "client_id": "n7", "text": "x"}),
        (
            "reply_elsewhere",
            {"sender": alice, "chat_id": other.pk, "client_id": "n8", "text": "x", "reply_to": first.pk},
        ),
        ("empty", {"sender": alice, "chat_id": direct.pk, "client_id": "n9", "text": "   "}),
    ]


EXPECTED = {
    "ok": ("ok", "hi", 2),
    "reply": ("ok", "re", 2),
    "repeat": ("duplicate", "first", 1),
    "repeat_elsewhere": ("error", "client_id_reused", 400),
    "not_member": ("error", "not_found", 404),
    "no_chat": ("error", "not_found", 404),
    "deleted_chat": ("error", "not_found", 404),
    "channel_member": ("error", "forbidden", 403),
    "channel_owner": ("ok", "x", 1),
    "blocked": ("error", "blocked", 403),
    "blocked_other_way": ("error", "blocked", 403),
    "reply_elsewhere": ("error", "invalid_reply", 400),
    "empty": ("error", "empty_message", 400),
}


def _run_each_case_on_fresh_data(send_function):
    results = {}
    for name in EXPECTED:
        Chat.objects.all().delete()
        alice, bob, carol = UserFactory(), UserFactory(), UserFactory()
        fields = dict(_cases(alice, bob, carol))[name]
        results[name] = _outcome(send_function, **fields)
    return results


def test_the_orm_path_applies_every_rule(transactional_db):
    assert _run_each_case_on_fresh_data(_orm_send) == EXPECTED


@needs_postgresql
def test_the_function_applies_the_same_rules(transactional_db):
    assert _run_each_case_on_fresh_data(_function_send) == EXPECTED


@needs_postgresql
def test_both_paths_store_and_publish_the_same(transactional_db):
    alice, bob = UserFactory(), UserFactory()
    chat = direct_chat(alice, bob)
    by_orm, _ = _orm_send(sender=alice, chat_id=chat.pk, client_id="orm", text="same text")
    by_function, _ = _function_send(sender=alice, chat_id=chat.pk, client_id="function", text="same text")

    assert (by_orm.seq, by_function.seq) == (1, 2)
    assert Chat.objects.get(pk=chat.pk).last_seq == 2
    stored = {m.client_id: m for m in Message.objects.filter(chat=chat)}
    assert stored["function"].text == stored["orm"].text == "same text"
    assert stored["function"].created_at == by_function.created_at

    events = list(StreamEvent.objects.filter(chat=chat, type="message:new").order_by("id"))
    assert [event.payload["client_id"] for event in events] == ["orm", "function"]
    keys = {key for key in events[0].payload if key not in ("id", "client_id", "created_at", "seq")}
    for key in keys:
        assert events[1].payload[key] == events[0].payload[key], key
    assert [event.payload["seq"] for event in events] == [1, 2]
    assert events[1].payload["id"] == str(by_function.pk)
