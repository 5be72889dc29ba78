"""Chat folders: a user's named, ordered lists of their own chats.

Rules: at most CHAT_MAX_FOLDERS folders per user, each with chats the user is a member of (a
chat may be in several); a new folder goes last; reordering names every folder once. Every
change is folder:created / folder:updated / folder:deleted to the user's devices. The user's row
is locked first in each change, which serialises one user's folder changes (the limit, the
positions) and nobody else's.
"""

from collections.abc import Sequence

from django.conf import settings
from django.db import transaction
from django.db.models import Max

from accounts.models import User
from chats import errors, selectors
from chats.events import stream_event_record
from chats.models import ChatFolder, ChatFolderEntry
from chats.payloads import folder_deleted_payload, folder_payload
from messenger.errors import ApplicationError


def _lock_owner(owner: User) -> None:
    # NO KEY UPDATE: rows that reference the user (their messages, sockets) are inserted meanwhile.
    User.objects.select_for_update(no_key=True).filter(pk=owner.pk).values_list("pk").first()


def _chat_ids_checked(*, owner: User, chat_ids: Sequence) -> list[str]:
    """The ids in the order given, repeats dropped; not_found naming those that are not the owner's chats."""
    wanted = list(dict.fromkeys(str(chat_id) for chat_id in chat_ids))
    mine = selectors.member_chat_ids(user=owner, chat_ids=wanted)
    missing = [chat_id for chat_id in wanted if chat_id not in mine]
    if missing:
        raise errors.chats_not_found(chat_ids=missing)
    return wanted


def _entries_replace(folder: ChatFolder, chat_ids: list[str]) -> None:
    ChatFolderEntry.objects.filter(folder=folder).delete()
    ChatFolderEntry.objects.bulk_create(
        [ChatFolderEntry(folder=folder, chat_id=chat_id, position=index) for index, chat_id in enumerate(chat_ids)]
    )


def _record(event_type: str, folder: ChatFolder, *, owner: User) -> ChatFolder:
    """The folder as the selectors render it, recorded as an event to its owner."""
    folder = selectors.folder_get_for_owner(folder_id=folder.pk, owner=owner)
    stream_event_record(type=event_type, user_id=owner.pk, payload=folder_payload(folder))
    return folder


def folder_create(*, owner: User, name: str, chat_ids: Sequence = ()) -> ChatFolder:
    with transaction.atomic():
        _lock_owner(owner)
        folders = ChatFolder.objects.filter(owner=owner)
        limit = settings.CHAT_MAX_FOLDERS
        if folders.count() >= limit:
            raise errors.too_many_folders(max_folders=limit)
        wanted = _chat_ids_checked(owner=owner, chat_ids=chat_ids)
        last = folders.aggregate(last=Max("position"))["last"]
        folder = ChatFolder.objects.create(owner=owner, name=name, position=0 if last is None else last + 1)
        _entries_replace(folder, wanted)
        return _record("folder:created", folder, owner=owner)


def folder_update(*, owner: User, folder_id, name: str | None = None, chat_ids: Sequence | None = None) -> ChatFolder:
    """Rename the folder and/or replace its chats (in the order given)."""
    with transaction.atomic():
        _lock_owner(owner)
        folder = ChatFolder.objects.filter(pk=folder_id, owner=owner).first()
        if folder is None:
            raise errors.folder_not_found()
        if name is None and chat_ids is None:
            return selectors.folder_get_for_owner(folder_id=folder.pk, owner=owner)
        if name is not None:
            folder.name = name
        if chat_ids is not None:
            _entries_replace(folder, _chat_ids_checked(owner=owner, chat_ids=chat_ids))
        folder.save(update_fields=["name", "updated_at"])
        return _record("folder:updated", folder, owner=owner)


def folder_delete(*, owner: User, folder_id) -> None:
    with transaction.atomic():
        _lock_owner(owner)
        deleted, _ = ChatFolder.objects.filter(pk=folder_id, owner=owner).delete()
        if not deleted:
            raise errors.folder_not_found()
        payload = folder_deleted_payload(folder_id=folder_id)
        stream_event_record(type="folder:deleted", user_id=owner.pk, payload=payload)


def folder_reorder(*, owner: User, folder_ids: Sequence) -> list[ChatFolder]:
    """Put the owner's folders in the order given, which must name each of them exactly once.

    folder:updated goes out for each folder whose position changed.
    """
    with transaction.atomic():
        _lock_owner(owner)
        folders = {str(folder.pk): folder for folder in ChatFolder.objects.filter(owner=owner)}
        order = [str(folder_id) for folder_id in folder_ids]
        if len(order) != len(set(order)) or set(order) != set(folders):
            message = "List each of your folders exactly once."
            raise ApplicationError(message, code="validation_error", details={"folder_ids": [message]})
        moved = []
        for position, folder_id in enumerate(order):
            folder = folders[folder_id]
            if folder.position != position:
                folder.position = position
                folder.save(update_fields=["position", "updated_at"])
                moved.append(folder)
        for folder in moved:
            _record("folder:updated", folder, owner=owner)
        return list(selectors.folder_queryset(owner=owner))
