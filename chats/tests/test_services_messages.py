"""chats.services.messages: every rule of a send, what a send stores and publishes, edits and deletes.

A send is stored by the one writer (chats/sql/message_send_batch.sql) whichever way it comes; here
it comes as REST and commands do (alone, on the calling thread's connection), and
test_send_batch.py sends the same cases through a batch. The events each service emits are read
back from the stream (the delivery log) and checked against the AsyncAPI file.
"""

import threading
import time
import uuid

import psycopg
import pytest
from asgiref.sync import async_to_sync
from django.db import connection, transaction

from accounts.models import Block
from accounts.tests.factories import UserFactory
from chats import services
from chats.models import Chat, ChatMember, Message, StreamEvent
from chats.payloads import message_payload
from chats.selectors import message_queryset, stream_position
from chats.send_batch import MessageToSend, message_store
from chats.tests.asyncapi import validate_server_frame
from chats.tests.factories import direct_chat, group_chat, send
from media.tests.factories import AttachmentFactory
from messenger.db import psycopg_params
from messenger.errors import ApplicationError

message_send = async_to_sync(services.message_send)


def emitted(since: int) -> list[dict]:
    """The stream events appended after `since`, as the frames that deliver them (each validated)."""
    frames = [
        {"type": event.type, "cursor": event.id, "data": event.payload}
        for event in StreamEvent.objects.filter(id__gt=since).order_by("id")
    ]
    for frame in frames:
        validate_server_frame(frame)
    return frames


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


def _outcome(**fields):
    try:
        sent = message_send(**fields)
    except ApplicationError as error:
        return ("error", error.code, error.status)
    return ("duplicate" if sent.duplicate else "ok", sent.message["text"], sent.message["seq"])


@pytest.mark.django_db
def test_every_rule_of_a_send():
    results = {}
    for name in EXPECTED:
        Chat.objects.all().delete()
        alice, bob, carol = UserFactory(), UserFactory(), UserFactory()
        fields = dict(_cases(alice, bob, carol))[name]
        before = stream_position()
        results[name] = _outcome(**fields)
        published = emitted(before)
        if results[name][0] == "ok":
            assert [frame["type"] for frame in published] == ["message:new"], name
        else:
            assert published == [], name  # nothing stored, nothing published
    assert results == EXPECTED


@pytest.mark.django_db
def test_a_send_stores_publishes_and_answers_the_same_message(alice, bob):
    chat = direct_chat(alice, bob)
    before = stream_position()
    sent = message_send(sender=alice, chat_id=chat.pk, client_id="c-1", text="  hello  ")

    stored = message_queryset().get(pk=sent.message["id"])
    assert (stored.text, stored.seq, stored.client_id) == ("hello", 1, "c-1")
    assert sent.message == message_payload(stored)
    (frame,) = emitted(before)
    assert frame["type"] == "message:new" and frame["data"] == sent.message
    assert Chat.objects.get(pk=chat.pk).last_seq == 1


@pytest.mark.django_db
def test_a_repeated_client_id_answers_the_stored_message_even_with_other_text(alice, bob):
    chat = direct_chat(alice, bob)
    first = message_send(sender=alice, chat_id=chat.pk, client_id="same", text="one")
    before = stream_position()
    again = message_send(sender=alice, chat_id=chat.pk, client_id="same", text="two")
    assert (again.duplicate, again.message) == (True, first.message)
    assert emitted(before) == []
    assert Message.objects.filter(chat=chat).count() == 1


@pytest.mark.django_db
def test_attachments_are_stored_in_order_and_published_with_the_message(alice, bob):
    chat = direct_chat(alice, bob)
    files = [AttachmentFactory(uploader=alice) for _ in range(3)]
    ids = [files[2].pk, files[0].pk, files[1].pk]
    before = stream_position()
    sent = message_send(sender=alice, chat_id=chat.pk, client_id="files", attachment_ids=ids)

    assert [item["id"] for item in sent.message["attachments"]] == [str(pk) for pk in ids]
    stored = message_queryset().get(pk=sent.message["id"])
    assert [link.attachment_id for link in stored.attachment_links.all()] == ids
    assert sent.message == message_payload(stored)
    (frame,) = emitted(before)
    assert frame["data"]["attachments"] == sent.message["attachments"]


@pytest.mark.django_db
def test_someone_elses_upload_is_refused_and_nothing_is_stored(alice, bob):
    chat = direct_chat(alice, bob)
    theirs = AttachmentFactory(uploader=bob)
    before = stream_position()
    with pytest.raises(ApplicationError) as refused:
        message_send(sender=alice, chat_id=chat.pk, client_id="x", text="look", attachment_ids=[theirs.pk])
    assert (refused.value.code, refused.value.details) == ("attachment_not_found", {"attachment_ids": [str(theirs.pk)]})
    assert emitted(before) == [] and not Message.objects.exists()


@pytest.mark.django_db
def test_too_many_attachments_are_refused(alice, bob, settings):
    settings.MEDIA_MAX_ATTACHMENTS_PER_MESSAGE = 2
    chat = direct_chat(alice, bob)
    ids = [AttachmentFactory(uploader=alice).pk for _ in range(3)]
    with pytest.raises(ApplicationError) as refused:
        message_send(sender=alice, chat_id=chat.pk, client_id="x", attachment_ids=ids)
    assert refused.value.code == "too_many_attachments"


@pytest.mark.django_db
def test_the_send_function_checks_the_attachments_itself(alice, bob):
    """An upload gone (or never the sender's) by the time the function runs is refused there."""
    chat = direct_chat(alice, bob)
    theirs = AttachmentFactory(uploader=bob)
    for attachment_id in (uuid.uuid4(), theirs.pk):
        message = MessageToSend(
            uuid.uuid4(), chat.pk, alice.pk, f"c-{attachment_id}", "", None, theirs.created_at, {}, "", [attachment_id]
        )
        status, seq, event_id, _ = async_to_sync(message_store)(message)
        assert (status, seq, event_id) == ("attachment_not_found", None, None)
    assert not Message.objects.exists()


def test_a_concurrent_send_of_the_same_client_id_answers_the_one_that_won(transactional_db, alice, bob):
    """The rival's insert commits while the send waits on the chat row: a unique violation, then
    the rival's message as a duplicate, and no seq gap."""
    chat = direct_chat(alice, bob)
    rival_id = uuid.uuid4()
    results: list = []
    with psycopg.connect(**psycopg_params()) as rival:
        rival.execute("UPDATE chats_chat SET last_seq = last_seq + 1 WHERE id = %s", [chat.pk])
        rival.execute(
            "INSERT INTO chats_message (id, chat_id, seq, sender_id, client_id, text, created_at) "
            "VALUES (%s, %s, 1, %s, 'twice', 'the rival', now())",
            [rival_id, chat.pk, alice.pk],
        )

        def send_twice() -> None:
            try:
                results.append(message_send(sender=alice, chat_id=chat.pk, client_id="twice", text="mine"))
            finally:
                connection.close()

        sender = threading.Thread(target=send_twice)
        sender.start()
        _wait_until(lambda: _lock_waits() > 0)
        rival.commit()
        sender.join(10)
    (sent,) = results
    assert (sent.duplicate, sent.message["id"], sent.message["text"]) == (True, str(rival_id), "the rival")
    assert Chat.objects.get(pk=chat.pk).last_seq == 1


def _lock_waits() -> int:
    with psycopg.connect(**psycopg_params(), autocommit=True) as observer:
        return observer.execute("SELECT count(*) FROM pg_locks WHERE NOT granted").fetchone()[0]


def _wait_until(condition, attempts: int = 200) -> None:
    for _ in range(attempts):
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError("the condition never held")


# --- edit and delete -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_edit_publishes_the_edited_message(alice, bob):
    chat = direct_chat(alice, bob)
    message = send(alice, chat, "before")
    before = stream_position()
    edited = services.message_edit(user=alice, chat=chat, message=message, text=" after ")
    (frame,) = emitted(before)
    assert frame["type"] == "message:updated"
    assert frame["data"] == message_payload(message_queryset().get(pk=edited.pk))
    assert frame["data"]["text"] == "after" and frame["data"]["edited_at"] is not None


@pytest.mark.django_db
def test_only_the_sender_edits(alice, bob):
    chat = direct_chat(alice, bob)
    message = send(alice, chat, "mine")
    before = stream_position()
    with pytest.raises(ApplicationError) as refused:
        services.message_edit(user=bob, chat=chat, message=message, text="theirs")
    assert refused.value.code == "forbidden"
    assert emitted(before) == []


@pytest.mark.django_db
def test_a_delete_publishes_a_tombstone_once(alice, bob, carol):
    chat = group_chat(alice, [bob, carol])
    message = send(bob, chat, "oops")
    before = stream_position()
    services.message_delete(user=alice, chat=chat, message=message)  # the owner may
    services.message_delete(user=bob, chat=chat, message=message)  # already gone: nothing more
    (frame,) = emitted(before)
    assert frame["type"] == "message:deleted"
    assert frame["data"] == {
        "chat_id": str(chat.pk),
        "message_id": str(message.pk),
        "seq": 1,
        "by": str(alice.pk),
        "for_everyone": True,
    }
    assert message_payload(message_queryset().get(pk=message.pk))["deleted"] is True


@pytest.mark.django_db
def test_a_plain_member_deletes_only_their_own(alice, bob, carol):
    chat = group_chat(alice, [bob, carol])
    message = send(bob, chat, "bob's")
    with pytest.raises(ApplicationError) as refused:
        services.message_delete(user=carol, chat=chat, message=message)
    assert refused.value.code == "forbidden"


# --- what the server records in the timeline -------------------------------------------------------


@pytest.mark.django_db
def test_a_recorded_event_is_a_message_with_the_next_seq(alice, bob):
    chat = group_chat(alice, [bob])
    send(alice, chat, "before")
    before = stream_position()
    with transaction.atomic():
        recorded = services.message_record(
            chat=chat, actor=alice, kind="system", system={"event": "title_changed", "actor_id": str(alice.pk)}
        )
    assert (recorded["kind"], recorded["seq"], recorded["text"]) == ("system", 2, "")
    assert recorded["system"] == {"event": "title_changed", "actor_id": str(alice.pk)}
    assert recorded == message_payload(message_queryset().get(pk=recorded["id"]))
    (frame,) = emitted(before)
    assert frame["type"] == "message:new" and frame["data"] == recorded


@pytest.mark.django_db
def test_an_event_is_recorded_even_when_its_actor_is_no_longer_a_member(alice, bob):
    chat = group_chat(alice, [bob])
    ChatMember.objects.filter(chat=chat, user=bob).delete()  # bob left; the record says so
    with transaction.atomic():
        recorded = services.message_record(chat=chat, actor=bob, kind="system", system={"event": "member_left"})
    assert recorded["sender_id"] == str(bob.pk)


@pytest.mark.django_db
def test_users_send_text_and_only_the_server_records(alice, bob):
    chat = direct_chat(alice, bob)
    with pytest.raises(ValueError, match="users send text"):
        services.message_record(chat=chat, actor=alice, kind="text", system={})
