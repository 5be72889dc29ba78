"""chats.services.folders: a user's folders, their limits and order, and the events each change emits."""

import uuid

import pytest

from accounts.tests.factories import UserFactory
from chats import services
from chats.models import ChatFolder, ChatFolderEntry, StreamEvent
from chats.payloads import folder_payload
from chats.selectors import folder_queryset, stream_position
from chats.tests.factories import direct_chat, group_chat
from chats.tests.test_services_messages import emitted
from messenger.errors import ApplicationError

pytestmark = pytest.mark.django_db


class TestCreate:
    def test_a_folder_lists_the_chats_in_the_order_given_and_goes_last(self, alice, bob):
        direct, group = direct_chat(alice, bob), group_chat(alice, title="G")
        first = services.folder_create(owner=alice, name="First")
        before = stream_position()
        second = services.folder_create(owner=alice, name="Second", chat_ids=[group.pk, direct.pk, group.pk])
        assert (first.position, second.position) == (0, 1)
        (frame,) = emitted(before)
        assert frame["type"] == "folder:created"
        assert frame["data"] == folder_payload(second)
        assert frame["data"]["chat_ids"] == [str(group.pk), str(direct.pk)]  # repeats dropped
        event = StreamEvent.objects.get(pk=frame["cursor"])
        assert (event.user_id, event.chat_id) == (alice.pk, None)

    def test_only_the_owners_own_chats(self, alice, bob, carol):
        mine, theirs = group_chat(alice), group_chat(bob, [carol])
        missing = uuid.uuid4()
        before = stream_position()
        with pytest.raises(ApplicationError) as refused:
            services.folder_create(owner=alice, name="F", chat_ids=[mine.pk, theirs.pk, missing])
        assert refused.value.code == "not_found"
        assert refused.value.details == {"chat_ids": [str(theirs.pk), str(missing)]}
        assert not ChatFolder.objects.exists() and emitted(before) == []

    def test_at_most_twenty(self, alice, settings):
        for index in range(settings.CHAT_MAX_FOLDERS):
            services.folder_create(owner=alice, name=f"F{index}")
        before = stream_position()
        with pytest.raises(ApplicationError) as refused:
            services.folder_create(owner=alice, name="one too many")
        assert (refused.value.code, refused.value.details) == ("too_many_folders", {"max": 20})
        assert ChatFolder.objects.filter(owner=alice).count() == 20 and emitted(before) == []
        services.folder_create(owner=UserFactory(), name="another user's are counted apart")


class TestUpdateAndDelete:
    def test_rename_and_refill(self, alice, bob):
        one, two = group_chat(alice, title="1"), group_chat(alice, title="2")
        folder = services.folder_create(owner=alice, name="F", chat_ids=[one.pk])
        before = stream_position()
        renamed = services.folder_update(owner=alice, folder_id=folder.pk, name="Renamed")
        refilled = services.folder_update(owner=alice, folder_id=folder.pk, chat_ids=[two.pk, one.pk])
        assert [frame["type"] for frame in emitted(before)] == ["folder:updated", "folder:updated"]
        assert folder_payload(renamed)["chat_ids"] == [str(one.pk)]
        refilled_json = folder_payload(refilled)
        assert (refilled_json["name"], refilled_json["chat_ids"]) == ("Renamed", [str(two.pk), str(one.pk)])
        before = stream_position()
        services.folder_update(owner=alice, folder_id=folder.pk)
        assert emitted(before) == []

    def test_someone_elses_folder_is_not_found(self, alice, bob):
        folder = services.folder_create(owner=bob, name="Bob's")
        before = stream_position()
        for call in (
            lambda: services.folder_update(owner=alice, folder_id=folder.pk, name="Mine"),
            lambda: services.folder_delete(owner=alice, folder_id=folder.pk),
            lambda: services.folder_update(owner=alice, folder_id=uuid.uuid4(), name="x"),
        ):
            with pytest.raises(ApplicationError) as refused:
                call()
            assert refused.value.code == "not_found"
        assert ChatFolder.objects.get(pk=folder.pk).name == "Bob's" and emitted(before) == []

    def test_refill_with_a_chat_that_is_not_yours_changes_nothing(self, alice, bob):
        mine, theirs = group_chat(alice), group_chat(bob)
        folder = services.folder_create(owner=alice, name="F", chat_ids=[mine.pk])
        with pytest.raises(ApplicationError):
            services.folder_update(owner=alice, folder_id=folder.pk, name="New", chat_ids=[theirs.pk])
        folder.refresh_from_db()
        assert folder.name == "F" and list(folder.entries.values_list("chat_id", flat=True)) == [mine.pk]

    def test_delete_keeps_the_chats(self, alice):
        chat = group_chat(alice)
        folder = services.folder_create(owner=alice, name="F", chat_ids=[chat.pk])
        before = stream_position()
        services.folder_delete(owner=alice, folder_id=folder.pk)
        (frame,) = emitted(before)
        assert frame == {**frame, "type": "folder:deleted", "data": {"folder_id": str(folder.pk)}}
        assert not ChatFolderEntry.objects.exists() and chat.members.exists()

    def test_a_chat_left_or_deleted_drops_out(self, alice, bob):
        left, deleted, kept = group_chat(bob, [alice]), group_chat(alice), group_chat(alice)
        folder = services.folder_create(owner=alice, name="F", chat_ids=[left.pk, deleted.pk, kept.pk])
        services.chat_member_remove(chat=left, actor=alice, user_id=alice.pk)
        services.chat_delete(chat=deleted, actor=alice)
        (listed,) = folder_queryset(owner=alice)
        assert folder_payload(listed)["chat_ids"] == [str(kept.pk)] and folder


class TestReorder:
    def test_reorder_moves_and_announces_the_folders_that_moved(self, alice):
        a, b, c = (services.folder_create(owner=alice, name=name) for name in "abc")
        before = stream_position()
        folders = services.folder_reorder(owner=alice, folder_ids=[a.pk, c.pk, b.pk])
        assert [(folder.name, folder.position) for folder in folders] == [("a", 0), ("c", 1), ("b", 2)]
        frames = emitted(before)
        assert [(frame["type"], frame["data"]["name"]) for frame in frames] == [
            ("folder:updated", "c"),
            ("folder:updated", "b"),
        ]
        assert [folder.name for folder in folder_queryset(owner=alice)] == ["a", "c", "b"]

    @pytest.mark.parametrize("order", ["missing", "repeated", "unknown", "someone_elses"])
    def test_the_order_must_name_each_folder_once(self, alice, bob, order):
        a, b = services.folder_create(owner=alice, name="a"), services.folder_create(owner=alice, name="b")
        theirs = services.folder_create(owner=bob, name="theirs")
        folder_ids = {
            "missing": [a.pk],
            "repeated": [a.pk, b.pk, a.pk],
            "unknown": [a.pk, b.pk, uuid.uuid4()],
            "someone_elses": [b.pk, theirs.pk],
        }[order]
        before = stream_position()
        with pytest.raises(ApplicationError) as refused:
            services.folder_reorder(owner=alice, folder_ids=folder_ids)
        assert (refused.value.code, list(refused.value.details)) == ("validation_error", ["folder_ids"])
        assert [folder.name for folder in folder_queryset(owner=alice)] == ["a", "b"] and emitted(before) == []
