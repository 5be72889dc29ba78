"""docs/asyncapi.yaml against the code: the document is sound, lists exactly the events the code
has, and every frame the server sends matches it.

Every WebSocket test checks its received frames through chats.tests.ws (see chats.tests.asyncapi);
the tests here make sure each server event type and each error code is actually sent and checked.
"""

import json
import uuid
from typing import Any

import pytest
from channels.db import database_sync_to_async
from jsonschema import Draft202012Validator

from accounts.models import Block, User
from calls.tests.event_types import CALL_DURABLE_EVENT_TYPES, CALL_EPHEMERAL_EVENT_TYPES, CALL_ERROR_CODES
from chats import services
from chats.models import Message
from chats.services import pins
from chats.tests.asyncapi import (
    CHANNEL,
    client_messages,
    document,
    follow,
    message,
    pointer_get,
    server_messages,
    validate_reply,
    validate_server_frame,
)
from chats.tests.factories import direct_chat, group_chat
from chats.tests.ws import connect
from media.models import Attachment
from messenger import socket_apps

db = database_sync_to_async

# Kept by hand on purpose: adding an event to the code must come with documenting it.
DURABLE_EVENT_TYPES = {
    "message:new",
    "message:updated",
    "message:deleted",
    "message:reactions",
    "message:status",
    "chat:pins_updated",
    "chat:created",
    "chat:updated",
    "chat:deleted",
    "chat:member_added",
    "chat:member_updated",
    "chat:member_removed",
    "chat:settings_updated",
    "chat:invite_created",
    "chat:invite_revoked",
    "folder:created",
    "folder:updated",
    "folder:deleted",
}
EPHEMERAL_EVENT_TYPES = {"typing:start", "typing:stop", "presence:update"}
PROTOCOL_FRAME_TYPES = {"ready", "sync:done", "pong", "ack", "error"}
SERVER_EVENT_TYPES = DURABLE_EVENT_TYPES | EPHEMERAL_EVENT_TYPES | PROTOCOL_FRAME_TYPES
# The document also holds the calls app's frames and codes (sent by calls/tests/test_asyncapi.py).
DOCUMENTED_DURABLE_EVENT_TYPES = DURABLE_EVENT_TYPES | CALL_DURABLE_EVENT_TYPES
DOCUMENTED_SERVER_EVENT_TYPES = SERVER_EVENT_TYPES | CALL_DURABLE_EVENT_TYPES | CALL_EPHEMERAL_EVENT_TYPES


def _refs(node: Any, path: str = "#"):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield path, value
            else:
                yield from _refs(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _refs(value, f"{path}/{index}")


# --- the document ---------------------------------------------------------------------------------


class TestDocument:
    def test_is_an_asyncapi_3_document(self):
        doc = document()
        assert doc["asyncapi"] == "3.0.0"
        assert doc["info"]["title"] and doc["info"]["version"]
        assert doc["servers"]["development"] == {
            **doc["servers"]["development"],
            "host": "127.0.0.1:8000",
            "protocol": "ws",
        }
        assert set(doc["channels"]) == {CHANNEL} and doc["channels"][CHANNEL]["address"] == "/ws/"
        for name, operation in doc["operations"].items():
            assert operation["action"] in ("send", "receive"), name
            assert operation["channel"] == {"$ref": f"#/channels/{CHANNEL}"}, name
            # An operation's messages, and its reply's, must be messages of its channel.
            for ref in [*operation["messages"], *operation.get("reply", {}).get("messages", [])]:
                assert ref["$ref"].startswith(f"#/channels/{CHANNEL}/messages/"), (name, ref)
            if operation["action"] == "send":
                assert operation["reply"]["channel"] == {"$ref": f"#/channels/{CHANNEL}"}, name

    def test_every_ref_resolves(self):
        refs = list(_refs(document()))
        assert refs
        for path, ref in refs:
            try:
                pointer_get(ref)
            except (KeyError, IndexError, ValueError) as exc:
                pytest.fail(f"{path}: $ref {ref!r} does not resolve ({exc!r})")

    def test_every_message_has_a_payload_and_every_schema_is_valid_json_schema(self):
        doc = document()
        for key in doc["channels"][CHANNEL]["messages"]:
            _, node = follow(f"#/channels/{CHANNEL}/messages/{key}")
            assert "payload" in node, key
            Draft202012Validator.check_schema(node["payload"])
        for name, schema in doc["components"]["schemas"].items():
            try:
                Draft202012Validator.check_schema(schema)
            except Exception as exc:  # noqa: BLE001 - name the schema in the failure
                pytest.fail(f"components.schemas.{name}: {exc}")

    def test_every_channel_message_is_used_by_an_operation(self):
        used = {m.key for m in client_messages()} | {m.key for m in server_messages()}
        assert used == set(document()["channels"][CHANNEL]["messages"])

    def test_examples_match_their_payloads(self):
        checked = 0
        for key in document()["channels"][CHANNEL]["messages"]:
            _, node = follow(f"#/channels/{CHANNEL}/messages/{key}")
            for example in node.get("examples", []):
                assert message(key).errors(example["payload"]) is None, (key, example)
                checked += 1
        assert checked > 20

    def test_client_messages_are_the_registered_handlers(self):
        documented = [m.event_type for m in client_messages()]
        assert len(documented) == len(set(documented))
        assert set(documented) == socket_apps.frame_types()

    def test_server_messages_are_the_event_types_the_code_sends(self):
        assert {m.event_type for m in server_messages()} == DOCUMENTED_SERVER_EVENT_TYPES

    def test_durable_events_carry_a_cursor_and_no_other_frame_does(self):
        for server_message in server_messages():
            schema = follow(server_message.payload_ref)[1]
            assert schema["additionalProperties"] is False, server_message.key
            has_cursor = "cursor" in schema["properties"]
            assert has_cursor == (server_message.event_type in DOCUMENTED_DURABLE_EVENT_TYPES), server_message.key
            assert has_cursor == ("cursor" in schema["required"]), server_message.key
            assert ("ref" in schema["required"]) == (server_message.event_type in ("ack", "error")), server_message.key

    def test_the_frame_check_rejects_what_the_document_does_not_allow(self):
        chat_id, user_id = str(uuid.uuid4()), str(uuid.uuid4())
        typing = {"type": "typing:start", "data": {"chat_id": chat_id, "user_id": user_id}}
        validate_server_frame(typing)
        status = {"chat_id": chat_id, "user_id": user_id, "delivered_seq": 2, "read_seq": 1}
        validate_server_frame({"type": "message:status", "cursor": 9, "data": status})
        wrong = [
            {"type": "typing:begin", "data": typing["data"]},  # undocumented type
            {**typing, "cursor": 3},  # ephemeral events have no cursor
            {"type": "typing:start", "data": {**typing["data"], "extra": 1}},
            {"type": "typing:start", "data": {"chat_id": chat_id}},
            {"type": "typing:start", "data": {"chat_id": "not-a-uuid", "user_id": user_id}},
            {"type": "message:status", "data": status},  # durable events need their cursor
            {"type": "ack", "ref": "r1", "data": {"unexpected": True}},
            {"type": "error", "ref": None, "data": {"code": "invalid_json", "message": "x"}},  # no details
            {"type": "error", "ref": None, "data": {"code": "teapot", "message": "x", "details": {}}},
            {"type": "error", "ref": "r", "data": {"code": "server_error", "message": "x"}},  # no details
            {"type": "presence:update", "data": {"user_id": user_id, "status": "online", "last_seen": "yesterday"}},
            "not an object",
        ]
        for frame in wrong:
            with pytest.raises(AssertionError):
                validate_server_frame(frame)
        with pytest.raises(AssertionError):  # a receipt ack is not a valid reply to message:send
            validate_reply("message:send", {"type": "ack", "ref": "r1", "data": status})


# --- what the server sends ----------------------------------------------------------------------


def _upload(user, *, image: bool) -> Attachment:
    """An attachment row (the frames only show its metadata, so no file is stored)."""
    return Attachment.objects.create(
        uploader=user,
        kind=Attachment.Kind.IMAGE if image else Attachment.Kind.FILE,
        storage_key=f"test/{uuid.uuid4()}",
        thumbnail_key=f"test/{uuid.uuid4()}.webp" if image else "",
        original_filename="photo.jpg" if image else "notes.pdf",
        content_type="image/jpeg" if image else "application/pdf",
        size=1234,
        width=40 if image else None,
        height=30 if image else None,
    )


def _give_avatar(user) -> None:
    User.objects.filter(pk=user.pk).update(avatar=_upload(user, image=True))


def send_data(chat, client_id: str, text: str = "hello", **extra) -> dict:
    return {"chat_id": str(chat.id), "client_id": client_id, "text": text, **extra}


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@pytest.mark.usefixtures("ws_cleanup")
class TestEveryServerFrame:
    async def test_each_server_event_type_is_sent_as_documented(self, alice, bob, carol):
        seen: set[str] = set()

        async def expect(client, event_type: str) -> dict:
            frame = await client.receive_type(event_type)
            seen.add(event_type)
            return frame

        async def call(client, event_type: str, data: dict) -> dict:
            reply = await client.reply(await client.send(event_type, data))
            validate_reply(event_type, reply)
            assert reply["type"] == "ack", reply
            seen.add("ack")
            return reply["data"]

        await db(_give_avatar)(alice)
        await db(_give_avatar)(carol)
        chat = await db(direct_chat)(alice, bob)
        b = await connect(bob)
        seen.add("ready")
        cursor = b.ready["data"]["cursor"]
        a = await connect(alice)
        assert a.ready["data"]["user"]["avatar"] is not None
        await expect(b, "presence:update")

        ref = await a.send("ping")
        await expect(a, "pong")
        validate_reply("ping", await a.reply(ref))

        chat_ref = {"chat_id": str(chat.id)}
        await call(a, "typing:start", chat_ref)
        await expect(b, "typing:start")
        await call(a, "typing:stop", chat_ref)
        await expect(b, "typing:stop")

        photo = await db(_upload)(alice, image=True)
        notes = await db(_upload)(alice, image=False)
        first = await call(a, "message:send", send_data(chat, "m1", attachment_ids=[str(photo.id), str(notes.id)]))
        image, document = first["message"]["attachments"]  # in the order given
        assert (image["id"], document["id"]) == (str(photo.id), str(notes.id))
        assert image["thumbnail_url"] and document["thumbnail_url"] is None
        await expect(b, "message:new")
        second = await call(a, "message:send", send_data(chat, "m2", reply_to=first["message"]["id"]))
        assert second["message"]["reply_to_id"] == first["message"]["id"]
        await expect(b, "message:new")
        await call(b, "message:delivered", {**chat_ref, "up_to_seq": 2})
        await expect(a, "message:status")
        await call(b, "message:read", {**chat_ref, "up_to_seq": 2})
        await expect(a, "message:status")

        # The message frames: the other members get each change; the acting socket its ack.
        message_ref = {"message_id": second["message"]["id"]}
        edited = await call(a, "message:edit", {**message_ref, "text": "re, edited"})
        assert edited["message"]["edited_at"] and edited["message"]["text"] == "re, edited"
        await expect(b, "message:updated")
        reacted = await call(b, "message:react", {**message_ref, "emoji": "👍🏽"})
        assert reacted["message"]["reactions"] == [{"emoji": "👍🏽", "count": 1, "me": True}]
        assert (await expect(a, "message:reactions"))["data"]["added"] is True
        await call(b, "message:unreact", {**message_ref, "emoji": "👍🏽"})
        assert (await expect(a, "message:reactions"))["data"]["reactions"] == []
        pinned = await call(a, "message:pin", message_ref)
        assert pinned["pinned_message_ids"] == [message_ref["message_id"]]
        assert (await expect(b, "message:new"))["data"]["system"]["event"] == "message_pinned"
        await expect(b, "chat:pins_updated")
        await call(a, "message:unpin", message_ref)
        await expect(b, "chat:pins_updated")
        await a.collect()  # its own copy of the system message, unless it came before the ack
        hidden = await call(b, "message:delete", {**message_ref, "for_everyone": False})
        assert hidden["for_everyone"] is False
        assert await a.nothing()  # deleting for oneself reaches only one's own other devices
        await call(a, "message:delete", message_ref)
        await expect(b, "message:deleted")

        # Changes made outside a socket (REST) reach every socket, the actor's too.
        stored = await db(Message.objects.get)(pk=first["message"]["id"])
        await db(services.message_edit)(user=alice, chat=chat, message=stored, text="edited")
        for client in (a, b):
            assert (await expect(client, "message:updated"))["data"]["edited_at"]
        await db(services.message_delete)(user=alice, chat=chat, message=stored)
        for client in (a, b):
            await expect(client, "message:deleted")

        group = await db(group_chat)(alice, [bob])
        for client in (a, b):
            await expect(client, "chat:created")
        # (The deletion erased the photo, which no other message used.)
        picture = await db(_upload)(alice, image=True)
        await db(services.chat_update)(chat=group, actor=alice, title="Renamed", avatar_id=picture.pk)
        for client in (a, b):
            assert (await expect(client, "chat:updated"))["data"]["chat"]["avatar"]["id"] == str(picture.id)
            assert (await expect(client, "message:new"))["data"]["system"]["event"] == "title_changed"
            assert (await expect(client, "message:new"))["data"]["system"]["event"] == "avatar_changed"
        await db(services.chat_member_add)(chat=group, actor=alice, user_ids=[carol.pk])
        for client in (a, b):
            assert (await expect(client, "chat:member_added"))["data"]["member"]["user"]["avatar"] is not None
            assert (await expect(client, "message:new"))["data"]["system"]["event"] == "member_added"
        await db(services.chat_member_update)(chat=group, actor=alice, user_id=bob.pk, role="admin")
        for client in (a, b):
            await expect(client, "chat:member_updated")
        await db(services.chat_member_remove)(chat=group, actor=alice, user_id=carol.pk)
        for client in (a, b):
            await expect(client, "chat:member_removed")
            assert (await expect(client, "message:new"))["data"]["system"]["event"] == "member_removed"
        # Invite events reach the owner and the admins (bob now) only.
        invite = await db(services.invite_create)(chat=group, actor=alice, max_uses=3)
        for client in (a, b):
            assert (await expect(client, "chat:invite_created"))["data"]["invite"]["code"] == invite.code
        await db(services.invite_revoke)(chat=group, actor=alice, code=invite.code)
        for client in (a, b):
            assert (await expect(client, "chat:invite_revoked"))["data"]["invite"]["revoked_at"]
        await db(services.chat_delete)(chat=group, actor=alice)
        for client in (a, b):
            await expect(client, "chat:deleted")

        # Events of bob's own: his settings of a chat and his folders.
        pinned = await call(b, "chat:settings", {**chat_ref, "pinned": True})
        assert pinned == {**pinned, "chat_id": str(chat.id), "pinned": True, "archived": False}
        await db(services.chat_settings_update)(user=bob, chat_id=chat.pk, archived=True)
        assert (await expect(b, "chat:settings_updated"))["data"]["pinned"] is False
        folder = await db(services.folder_create)(owner=bob, name="Family", chat_ids=[chat.pk])
        assert (await expect(b, "folder:created"))["data"]["chat_ids"] == [str(chat.id)]
        await db(services.folder_update)(owner=bob, folder_id=folder.pk, name="Home")
        assert (await expect(b, "folder:updated"))["data"]["name"] == "Home"
        await db(services.folder_delete)(owner=bob, folder_id=folder.pk)
        assert (await expect(b, "folder:deleted"))["data"] == {"folder_id": str(folder.pk)}

        assert (await b.request("no:such-event"))["type"] == "error"
        seen.add("error")

        # A new device of bob's catches up: the replayed frames (read back from the stream) are
        # checked as well, and include every durable event type.
        tablet = await connect(bob, device="tablet")
        ref = await tablet.send("sync:request", {"cursor": cursor})
        replayed = []
        while (frame := await tablet.receive())["type"] != "sync:done":
            replayed.append(frame["type"])
        seen.add("sync:done")
        assert frame["data"]["has_more"] is False
        validate_reply("sync:request", await tablet.reply(ref))
        assert set(replayed) == DURABLE_EVENT_TYPES

        await a.close()
        assert (await expect(b, "presence:update"))["data"]["status"] == "offline"
        assert seen == SERVER_EVENT_TYPES

    async def test_each_error_code_is_sent_as_documented(self, alice, bob, carol, settings, monkeypatch):
        chat = await db(direct_chat)(alice, bob)
        channel = await db(group_chat)(alice, [bob], type="channel")
        blocked_chat = await db(direct_chat)(alice, carol)
        await db(Block.objects.create)(blocker=carol, blocked=alice)
        a, b = await connect(alice), await connect(bob)
        codes: set[str] = set()

        async def fails(client, code: str, event_type: str, data: dict | None = None) -> dict:
            frame = await client.request(event_type, data)
            if event_type in socket_apps.frame_types():
                validate_reply(event_type, frame)
            assert frame["type"] == "error" and frame["data"]["code"] == code, frame
            codes.add(code)
            return frame["data"]

        async def unreadable(code: str, **frame) -> None:
            await a.ws.send_to(**frame)
            reply = await a.receive_type("error")
            assert reply["type"] == "error" and reply["ref"] is None and reply["data"]["code"] == code, reply
            codes.add(code)

        await unreadable("invalid_json", text_data="{nope")
        await unreadable("invalid_frame", text_data="[]")
        await unreadable("invalid_frame", bytes_data=b"\x00")
        await unreadable("frame_too_large", text_data=" " * (settings.WS_MAX_FRAME_BYTES + 1))
        await a.ws.send_to(text_data=json.dumps({"type": 5, "ref": "t"}))
        assert (await a.receive_type("error"))["ref"] == "t"  # invalid_frame, with the ref it could read

        await fails(a, "unknown_type", "no:such-event")
        invalid = await fails(a, "validation_error", "message:send", {"chat_id": "nope", "attachment_ids": ["bad"]})
        assert set(invalid["details"]) == {"chat_id", "client_id", "attachment_ids"}
        missing_chat = {"chat_id": str(uuid.uuid4()), "client_id": "x1", "text": "hi"}
        await fails(a, "not_found", "message:send", missing_chat)
        await fails(b, "forbidden", "message:send", send_data(channel, "b1"))
        await fails(a, "blocked", "message:send", send_data(blocked_chat, "x2"))
        await fails(a, "empty_message", "message:send", send_data(chat, "x3", text="   "))
        await fails(a, "invalid_reply", "message:send", send_data(chat, "x4", reply_to=str(uuid.uuid4())))
        dup = await a.request("message:send", send_data(chat, "dup"))
        assert dup["type"] == "ack"
        await fails(a, "client_id_reused", "message:send", send_data(channel, "dup"))
        too_long = send_data(chat, "x7", text="x" * (settings.MESSAGE_MAX_LENGTH + 1))
        assert (await fails(a, "text_too_long", "message:send", too_long))["details"] == {
            "max": settings.MESSAGE_MAX_LENGTH
        }
        sent_ref = {"message_id": dup["data"]["message"]["id"]}
        await fails(a, "invalid_emoji", "message:react", {**sent_ref, "emoji": "no"})
        settings.MESSAGE_MAX_REACTIONS = 1
        assert (await a.request("message:react", {**sent_ref, "emoji": "👍"}))["type"] == "ack"
        assert (await fails(a, "too_many_reactions", "message:react", {**sent_ref, "emoji": "🎉"}))["details"] == {
            "max": 1
        }
        monkeypatch.setattr(pins, "CHAT_MAX_PINS", 0)
        assert (await fails(a, "too_many_pins", "message:pin", sent_ref))["details"] == {"max": 0}
        settings.MESSAGE_EDIT_WINDOW_SECONDS = 0
        expired_edit = await fails(a, "edit_window_expired", "message:edit", {**sent_ref, "text": "late"})
        assert expired_edit["details"] == {"seconds": 0}
        await db(services.chat_update)(chat=channel, actor=alice, title="Renamed")  # a system message
        recorded = await db(lambda: Message.objects.get(chat=channel, kind="system"))()
        system_ref = {"chat_id": str(channel.id), "message_id": str(recorded.id)}
        await fails(
            a, "not_forwardable", "message:send", {**send_data(chat, "x8", text=""), "forward_from": system_ref}
        )
        expired = await fails(a, "cursor_expired", "sync:request", {"cursor": a.ready["data"]["cursor"] + 1000})
        assert isinstance(expired["details"]["cursor"], int)
        unknown_upload = str(uuid.uuid4())
        missing = await fails(
            a, "attachment_not_found", "message:send", send_data(chat, "x5", attachment_ids=[unknown_upload])
        )
        assert missing["details"] == {"attachment_ids": [unknown_upload]}
        settings.MEDIA_MAX_ATTACHMENTS_PER_MESSAGE = 1
        two = [str(uuid.uuid4()), str(uuid.uuid4())]
        too_many = await fails(a, "too_many_attachments", "message:send", send_data(chat, "x6", attachment_ids=two))
        assert too_many["details"] == {"max": 1}

        settings.CHAT_MAX_PINNED = 0
        pinning = await fails(a, "too_many_pinned", "chat:settings", {"chat_id": str(chat.id), "pinned": True})
        assert pinning["details"] == {"max": 0}

        settings.WS_RATE_LIMIT_BURST, settings.WS_RATE_LIMIT_PER_SECOND = 1, 0
        limited = await connect(alice, device="limited")
        assert (await limited.request("ping"))["type"] == "ack"
        await fails(limited, "rate_limited", "ping")

        async def broken(socket, data):
            raise RuntimeError("boom")

        monkeypatch.setitem(socket_apps._handlers, "ping", broken)
        assert (await fails(a, "server_error", "ping"))["details"] == {}

        documented = set(pointer_get("#/components/schemas/ErrorCode")["enum"])
        assert codes == documented - CALL_ERROR_CODES


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@pytest.mark.usefixtures("ws_cleanup")
class TestReplies:
    async def test_every_ref_gets_exactly_one_reply_in_order(self, alice, bob):
        chat = await db(direct_chat)(alice, bob)
        a = await connect(alice)
        await a.send("ping", ref="p1")
        await a.send("no:such-event", ref="p2")
        await a.send("message:send", {"chat_id": "nope"}, ref="p3")
        await a.send("typing:start", {"chat_id": str(chat.id)}, ref="p4")
        await a.send("ping", ref=None)  # no ref: a pong, but no ack
        await a.send("no:such-event", ref=None)  # no ref: still an error, with ref null
        await a.ws.send_to(text_data=json.dumps({"type": "ping", "ref": 7}))
        await a.send("ping", ref="x" * 100)
        frames = await a.collect(0.5)
        replies = [(frame["type"], frame["ref"]) for frame in frames if frame["type"] in ("ack", "error")]
        assert replies == [
            ("ack", "p1"),
            ("error", "p2"),
            ("error", "p3"),
            ("ack", "p4"),
            ("error", None),
            ("ack", "7"),
            ("ack", "x" * 64),
        ]
        assert [frame["type"] for frame in frames].count("pong") == 4
