"""chats.services.messages: every rule of a send, what a send stores and publishes, forwards and
mentions, edits and deletes.

A send is stored by the one writer (chats/sql/message_send_batch.sql) whichever way it comes; here
it comes as REST and commands do (alone, on the calling thread's connection), and
test_send_batch.py sends the same cases through a batch. The events each service emits are read
back from the stream (the delivery log) and checked against the AsyncAPI file.
"""

import threading
import uuid
from datetime import timedelta

import psycopg
import pytest
from asgiref.sync import async_to_sync
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Block
from accounts.tests.factories import UserFactory
from chats import services
from chats.models import Chat, ChatMember, Message, MessageEdit, MessagePin, MessageReaction, StreamEvent
from chats.payloads import message_payload
from chats.selectors import (
    chat_list_for_user,
    mention_resolve,
    message_edit_list,
    message_get_in_chat,
    message_list,
    message_queryset,
    stream_position,
)
from chats.send_batch import MessageToSend, message_store
from chats.tests.asyncapi import validate_server_frame
from chats.tests.factories import direct_chat, group_chat, send
from chats.tests.locks import lock_waits, wait_until
from media.models import Attachment
from media.selectors import attachment_get_for_user
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
        wait_until(lambda: lock_waits() > 0)
        rival.commit()
        sender.join(10)
    (sent,) = results
    assert (sent.duplicate, sent.message["id"], sent.message["text"]) == (True, str(rival_id), "the rival")
    assert Chat.objects.get(pk=chat.pk).last_seq == 1


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


# --- input rules -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_text_limit_counts_characters_after_trimming(alice, bob, settings):
    settings.MESSAGE_MAX_LENGTH = 5
    chat = direct_chat(alice, bob)
    assert message_send(sender=alice, chat_id=chat.pk, client_id="ok", text="  ✓✓✓✓✓  ").message["text"] == "✓✓✓✓✓"
    before = stream_position()
    with pytest.raises(ApplicationError) as refused:
        message_send(sender=alice, chat_id=chat.pk, client_id="long", text="123456")
    assert (refused.value.code, refused.value.details) == ("text_too_long", {"max": 5})
    message = Message.objects.get()
    with pytest.raises(ApplicationError) as refused:
        services.message_edit(user=alice, chat=chat, message=message, text="123456")
    assert refused.value.code == "text_too_long"
    assert emitted(before) == [] and Message.objects.get().text == "✓✓✓✓✓"


# --- edits ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_each_edit_keeps_the_previous_text(alice, bob):
    chat = direct_chat(alice, bob)
    message = send(alice, chat, "one")
    services.message_edit(user=alice, chat=chat, message=message, text="two")
    services.message_edit(user=alice, chat=chat, message=message, text="three")
    before = stream_position()
    services.message_edit(user=alice, chat=chat, message=message, text=" three ")  # the same: nothing
    assert emitted(before) == []
    message.refresh_from_db()
    versions = message_edit_list(message=message)
    assert [version.text for version in versions] == ["one", "two", "three"]
    assert versions[0].written_at == message.created_at and versions[-1].written_at == message.edited_at
    assert versions[0].written_at < versions[1].written_at < versions[2].written_at


@pytest.mark.django_db
def test_the_edit_window(alice, bob, settings):
    settings.MESSAGE_EDIT_WINDOW_SECONDS = 60
    chat = direct_chat(alice, bob)
    message = send(alice, chat, "fresh")
    Message.objects.filter(pk=message.pk).update(created_at=timezone.now() - timedelta(seconds=50))
    services.message_edit(user=alice, chat=chat, message=message, text="still in time")
    Message.objects.filter(pk=message.pk).update(created_at=timezone.now() - timedelta(seconds=61))
    before = stream_position()
    with pytest.raises(ApplicationError) as refused:
        services.message_edit(user=alice, chat=chat, message=message, text="too late")
    assert (refused.value.code, refused.value.status, refused.value.details) == (
        "edit_window_expired",
        403,
        {"seconds": 60},
    )
    assert emitted(before) == [] and Message.objects.get(pk=message.pk).text == "still in time"


@pytest.mark.django_db
def test_what_cannot_be_edited(alice, bob):
    chat = group_chat(alice, [bob])
    original = send(bob, chat, "bob's")
    forwarded = Message.objects.get(
        pk=message_send(
            sender=alice, chat_id=chat.pk, client_id="fwd", forward_from={"chat_id": chat.pk, "message_id": original.pk}
        ).message["id"]
    )
    services.chat_update(chat=chat, actor=alice, title="Renamed")
    system = Message.objects.get(chat=chat, kind=Message.Kind.SYSTEM)
    with_file = send(alice, chat, "", attachment_ids=[AttachmentFactory(uploader=alice).pk])
    before = stream_position()
    for message, code in [(forwarded, "forbidden"), (system, "forbidden"), (original, "forbidden")]:
        with pytest.raises(ApplicationError) as refused:
            services.message_edit(user=alice, chat=chat, message=message, text="changed")
        assert refused.value.code == code
    services.message_delete(user=bob, chat=chat, message=original)
    before = stream_position()
    with pytest.raises(ApplicationError) as refused:
        services.message_edit(user=bob, chat=chat, message=original, text="back")
    assert refused.value.code == "not_found"
    # A message with files may lose its text; one without may not.
    services.message_edit(user=alice, chat=chat, message=with_file, text="caption")
    services.message_edit(user=alice, chat=chat, message=with_file, text="   ")
    assert Message.objects.get(pk=with_file.pk).text == ""
    plain = send(alice, chat, "plain")
    with pytest.raises(ApplicationError) as refused:
        services.message_edit(user=alice, chat=chat, message=plain, text="  ")
    assert refused.value.code == "empty_message"
    assert [frame["type"] for frame in emitted(before)] == ["message:updated", "message:updated", "message:new"]


@pytest.mark.django_db
def test_an_edit_resolves_the_mentions_again(alice, bob, carol):
    chat = group_chat(alice, [bob, carol])
    message = send(alice, chat, "hi @bob")
    assert message.mention_ids == [bob.pk]
    before = stream_position()
    services.message_edit(user=alice, chat=chat, message=message, text="hi @carol")
    (frame,) = emitted(before)
    assert frame["data"]["mentions"] == [str(carol.pk)]
    services.message_edit(user=alice, chat=chat, message=message, text="hi all")
    assert Message.objects.get(pk=message.pk).mention_ids is None


# --- deletes -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_tombstone_keeps_its_seq_and_erases_everything_else(alice, bob, carol, django_capture_on_commit_callbacks):
    chat = group_chat(alice, [bob, carol])
    photo, shared = AttachmentFactory(uploader=bob), AttachmentFactory(uploader=bob)
    message = send(bob, chat, "hi @carol", attachment_ids=[photo.pk, shared.pk])
    services.message_edit(user=bob, chat=chat, message=message, text="hi @carol!")
    services.message_react(user=carol, chat=chat, message=message, emoji="👍")
    services.message_pin(user=alice, chat=chat, message=message)
    elsewhere = group_chat(bob, [carol])
    forward = {"chat_id": chat.pk, "message_id": message.pk}
    copy = message_send(sender=bob, chat_id=elsewhere.pk, client_id="fwd", forward_from=forward).message
    send(carol, chat, "after")

    before = stream_position()
    with django_capture_on_commit_callbacks(execute=True):
        deleted = services.message_delete(user=bob, chat=chat, message=message)
    assert deleted == {
        "chat_id": str(chat.pk),
        "message_id": str(message.pk),
        "seq": message.seq,
        "by": str(bob.pk),
        "for_everyone": True,
    }
    assert [(frame["type"], frame["data"]) for frame in emitted(before)] == [
        ("message:deleted", deleted),
        ("chat:pins_updated", {"chat_id": str(chat.pk), "pinned_message_ids": []}),
    ]
    tombstone = Message.objects.get(pk=message.pk)
    assert (tombstone.seq, tombstone.text, tombstone.mention_ids, tombstone.deleted_at is not None) == (
        message.seq,
        "",
        None,
        True,
    )
    assert not MessageEdit.objects.exists() and not MessageReaction.objects.exists() and not MessagePin.objects.exists()
    rendered = message_payload(message_queryset().get(pk=message.pk))
    assert (rendered["deleted"], rendered["attachments"], rendered["reactions"], rendered["mentions"]) == (
        True,
        [],
        [],
        [],
    )
    assert message_edit_list(message=tombstone) == []
    # The files go, from storage too, except the ones the forwarded copy shares (all of them here).
    assert set(Attachment.objects.values_list("pk", flat=True)) == {photo.pk, shared.pk}
    with django_capture_on_commit_callbacks(execute=True):
        services.message_delete(user=bob, chat=elsewhere, message=Message.objects.get(pk=copy["id"]))
    assert not Attachment.objects.exists()
    assert not default_storage.exists(photo.storage_key) and not default_storage.exists(shared.storage_key)
    # The seqs stay gap-free, the tombstone in its place.
    assert list(Message.objects.filter(chat=chat).order_by("seq").values_list("seq", flat=True)) == list(
        range(1, Chat.objects.get(pk=chat.pk).last_seq + 1)
    )


@pytest.mark.django_db
def test_who_deletes_for_everyone(alice, bob, carol):
    group = group_chat(alice, [bob, carol])
    ChatMember.objects.filter(chat=group, user=carol).update(role=ChatMember.Role.ADMIN)
    direct = direct_chat(alice, bob)
    cases = [
        (group, bob, alice, True),  # the owner deletes anyone's
        (group, bob, carol, True),  # an admin too
        (group, alice, bob, False),  # a member only their own
        (group, bob, bob, True),
        (direct, bob, alice, False),  # no moderators in a direct chat
        (direct, alice, alice, True),
    ]
    for index, (chat, sender, deleter, allowed) in enumerate(cases):
        message = send(sender, chat, "x", client_id=f"case-{index}")
        try:
            services.message_delete(user=deleter, chat=chat, message=message)
        except ApplicationError as error:
            assert (error.code, allowed) == ("forbidden", False)
        else:
            assert allowed
        assert (Message.objects.get(pk=message.pk).deleted_at is not None) == allowed


@pytest.mark.django_db
def test_delete_for_me_hides_it_from_that_user_only(alice, bob, carol):
    chat = group_chat(alice, [bob, carol])
    theirs = send(alice, chat, "hi @bob")
    send(alice, chat, "second")
    before = stream_position()
    hidden = services.message_delete(user=bob, chat=chat, message=theirs, for_everyone=False)  # not his own
    assert hidden["for_everyone"] is False and hidden["by"] == str(bob.pk)
    (frame,) = StreamEvent.objects.filter(id__gt=before)
    assert (frame.type, frame.chat_id, frame.user_id, frame.payload) == ("message:deleted", None, bob.pk, hidden)
    assert emitted(before)[0]["data"] == hidden
    again = stream_position()
    assert services.message_delete(user=bob, chat=chat, message=theirs, for_everyone=False) == hidden
    assert emitted(again) == []

    def seqs(user) -> list[int]:
        return [message.seq for message in message_list(chat=chat, user=user)[0]]

    assert (seqs(bob), seqs(carol)) == ([2], [1, 2])
    with pytest.raises(ApplicationError):
        message_get_in_chat(chat=chat, message_id=theirs.pk, user=bob)
    assert message_get_in_chat(chat=chat, message_id=theirs.pk, user=carol).text == "hi @bob"
    bob_view = chat_list_for_user(user=bob).get(pk=chat.pk)
    assert (bob_view.unread_count, bob_view.unread_mentions_count) == (1, 0)
    assert Message.objects.get(pk=theirs.pk).deleted_at is None


# --- forwards ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_forward_copies_the_message_and_names_its_origin(alice, bob, carol):
    direct = direct_chat(alice, bob)
    channel = group_chat(carol, [alice], type=Chat.Type.CHANNEL, title="News")
    target = group_chat(alice, [carol], title="Target")
    photo = AttachmentFactory(uploader=bob)
    private = send(bob, direct, "from a direct chat", attachment_ids=[photo.pk])
    public = send(carol, channel, "from a channel")
    UserFactory._meta.model.objects.filter(pk=bob.pk).update(display_name="Bob B.")

    before = stream_position()
    sent = message_send(
        sender=alice, chat_id=target.pk, client_id="f1", forward_from={"chat_id": direct.pk, "message_id": private.pk}
    ).message
    assert sent["text"] == "from a direct chat" and sent["sender_id"] == str(alice.pk)
    assert [item["id"] for item in sent["attachments"]] == [str(photo.pk)]  # shared, not uploaded again
    assert sent["forwarded_from"] == {
        "sender_id": str(bob.pk),
        "sender_name": "Bob B.",
        "chat_id": None,  # a direct chat is never named
        "chat_title": None,
        "sent_at": sent["forwarded_from"]["sent_at"],
    }
    assert sent == message_payload(message_queryset().get(pk=sent["id"]))
    (frame,) = emitted(before)
    assert frame["data"] == sent
    # Carol, who is not in the direct chat, may now fetch the shared file through the copy.
    assert attachment_get_for_user(user=carol, attachment_id=photo.pk) == photo

    from_channel = message_send(
        sender=alice, chat_id=target.pk, client_id="f2", forward_from={"chat_id": channel.pk, "message_id": public.pk}
    ).message
    assert (from_channel["forwarded_from"]["chat_id"], from_channel["forwarded_from"]["chat_title"]) == (
        str(channel.pk),
        "News",
    )
    # Forwarding a forward keeps the first origin.
    again = message_send(
        sender=carol, chat_id=channel.pk, client_id="f3", forward_from={"chat_id": target.pk, "message_id": sent["id"]}
    ).message
    assert again["forwarded_from"] == sent["forwarded_from"]


@pytest.mark.django_db
def test_a_forward_needs_a_message_the_sender_sees_and_a_chat_they_post_in(alice, bob, carol):
    direct = direct_chat(alice, bob)
    channel = group_chat(carol, [alice], type=Chat.Type.CHANNEL)
    mine = group_chat(alice, [bob])
    private = send(bob, direct, "private")
    gone = send(bob, direct, "gone")
    services.message_delete(user=bob, chat=direct, message=gone)
    hidden = send(bob, direct, "hidden")
    services.message_delete(user=alice, chat=direct, message=hidden, for_everyone=False)
    services.chat_update(chat=mine, actor=alice, title="Mine")
    system = Message.objects.get(chat=mine, kind=Message.Kind.SYSTEM)

    def forward(sender, into, chat, message, client_id):
        try:
            message_send(
                sender=sender,
                chat_id=into.pk,
                client_id=client_id,
                forward_from={"chat_id": chat.pk, "message_id": message.pk},
            )
        except ApplicationError as error:
            return error.code
        return "ok"

    before = stream_position()
    assert forward(carol, channel, direct, private, "a") == "not_found"  # not a member of the source
    assert forward(alice, mine, mine, private, "b") == "not_found"  # not a message of that chat
    assert forward(alice, mine, direct, gone, "c") == "not_found"
    assert forward(alice, mine, direct, hidden, "d") == "not_found"  # deleted for her
    assert forward(alice, mine, mine, system, "e") == "not_forwardable"
    assert forward(alice, channel, direct, private, "f") == "forbidden"  # a plain member of a channel
    assert emitted(before) == []
    assert forward(bob, mine, direct, hidden, "g") == "ok"  # bob still sees it


@pytest.mark.django_db
def test_the_send_function_checks_a_forward_source_itself(alice, bob):
    """A source deleted (or left) after Python read it is refused in the storing transaction."""
    chat = direct_chat(alice, bob)
    photo = AttachmentFactory(uploader=bob)
    source = send(bob, chat, "soon deleted", attachment_ids=[photo.pk])
    own = AttachmentFactory(uploader=alice)

    def store(**fields) -> tuple:
        message = MessageToSend(
            uuid.uuid4(), chat.pk, alice.pk, f"c-{uuid.uuid4()}", "x", None, timezone.now(), {}, "", **fields
        )
        return async_to_sync(message_store)(message)[0]

    # Someone else's file travels only with the forward of a message that carries it.
    assert store(attachment_ids=[photo.pk]) == "attachment_not_found"
    assert store(attachment_ids=[own.pk], forward_of=source.pk) == "attachment_not_found"
    assert store(attachment_ids=[photo.pk], forward_of=source.pk) == "ok"
    Message.objects.filter(pk=source.pk).update(deleted_at=timezone.now())
    assert store(attachment_ids=[photo.pk], forward_of=source.pk) == "forward_not_found"


# --- mentions ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_mentions_are_resolved_to_members(alice, bob, carol):
    outsider = UserFactory(username="dave")
    group = group_chat(alice, [bob, carol])
    UserFactory._meta.model.objects.filter(pk=bob.pk).update(username="Bob.Smith")

    def mentions(sender, text, chat=group):
        return message_send(sender=sender, chat_id=chat.pk, client_id=str(uuid.uuid4()), text=text).message["mentions"]

    assert mentions(alice, "@bob.smith and @CAROL, meet @dave") == [str(bob.pk), str(carol.pk)]  # dave is no member
    assert mentions(alice, "@carol @carol (@bob.smith.)") == [str(carol.pk), str(bob.pk)]  # once each, in order
    assert mentions(alice, "mail carol@example.com or a@carol, @alice") == []  # not mentions; never oneself
    assert mentions(bob, "@all hands") == []  # only owners and admins mention everyone
    assert mentions(alice, "@all hands, @carol") == [str(carol.pk), str(bob.pk)]
    assert mentions(alice, "@al") == []
    assert mentions(alice, "@" + "x" * 33) == []
    assert mentions(alice, "@bob", chat=direct_chat(alice, bob)) == []  # not in direct chats
    assert not Message.objects.filter(mention_ids__contains=[outsider.pk]).exists()


@pytest.mark.django_db
def test_a_text_without_an_at_sign_costs_no_query_to_resolve(alice, bob, django_assert_num_queries):
    chat = group_chat(alice, [bob])
    with django_assert_num_queries(0):
        assert mention_resolve(chat_id=chat.pk, sender_id=alice.pk, text="no mention here") is None
    with django_assert_num_queries(1):
        assert mention_resolve(chat_id=chat.pk, sender_id=alice.pk, text="mail a@b.example, @bob") == [bob.pk]
