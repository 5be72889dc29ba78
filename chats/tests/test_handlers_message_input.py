"""chats.handlers.message_send_input checks ordinary `message:send` frames itself and hands anything
else to MessageSendSerializer: its result must be the serializer's, and every error the serializer's."""

import uuid

import pytest
from django.conf import settings

from chats.api.serializers import MessageSendSerializer
from chats.handlers import message_send_input
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
        {"chat_id": CHAT, "client_id": "c1", "text": "not a forward", "forward_from": None},
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
        {"chat_id": CHAT, "client_id": "c1", "forward_from": {"chat_id": CHAT, "message_id": REPLY}},
        {"chat_id": CHAT, "client_id": "c1", "text": " ", "forward_from": {"chat_id": CHAT, "message_id": REPLY}},
        {
            "chat_id": CHAT,
            "client_id": "c1",
            "text": "and text",
            "forward_from": {"chat_id": CHAT, "message_id": REPLY},
        },
        {"chat_id": CHAT, "client_id": "c1", "reply_to": REPLY, "forward_from": {"chat_id": CHAT, "message_id": REPLY}},
        {
            "chat_id": CHAT,
            "client_id": "c1",
            "attachment_ids": [REPLY],
            "forward_from": {"chat_id": CHAT, "message_id": REPLY},
        },
        {"chat_id": CHAT, "client_id": "c1", "forward_from": {"chat_id": CHAT}},
        {"chat_id": CHAT, "client_id": "c1", "forward_from": "nope"},
    ],
)
def test_the_frame_check_agrees_with_the_serializer(data):
    assert _fast_result(data) == _serializer_result(data)


def test_a_forward_with_text_of_its_own_is_refused():
    forward = {"chat_id": CHAT, "message_id": REPLY}
    outcome, details = _fast_result({"chat_id": CHAT, "client_id": "c1", "text": "mine", "forward_from": forward})
    assert (outcome, list(details)) == ("error", ["forward_from"])
    outcome, data = _fast_result({"chat_id": CHAT, "client_id": "c1", "text": "  ", "forward_from": forward})
    assert outcome == "ok" and data["forward_from"] == {"chat_id": uuid.UUID(CHAT), "message_id": uuid.UUID(REPLY)}
