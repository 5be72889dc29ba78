"""manage.py media_cleanup: old uploads nobody uses go, with their files; used ones stay."""

import threading
import time
from datetime import timedelta
from io import StringIO

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from chats.models import Message
from chats.tests.factories import direct_chat, send
from media.models import Attachment
from media.services import attachment_cleanup_unattached, attachment_delete
from media.tests.conftest import share_in_chat
from media.tests.factories import AttachmentFactory, ImageAttachmentFactory
from messenger.db import psycopg_params

pytestmark = pytest.mark.django_db


def age(attachment, *, hours: float):
    Attachment.objects.filter(pk=attachment.pk).update(created_at=timezone.now() - timedelta(hours=hours))
    return attachment


def run_cleanup(*args: str) -> str:
    out = StringIO()
    call_command("media_cleanup", *args, stdout=out)
    return out.getvalue()


def test_deletes_old_unattached_uploads_and_their_files(
    user, other_user, local_storage, django_capture_on_commit_callbacks
):
    stale = age(ImageAttachmentFactory(uploader=user), hours=25)
    fresh = age(AttachmentFactory(uploader=user), hours=23)
    sent = age(AttachmentFactory(uploader=user), hours=48)
    share_in_chat(sent, sender=user, members=[other_user])
    avatar = age(ImageAttachmentFactory(uploader=user), hours=48)
    user.avatar = avatar
    user.save(update_fields=["avatar"])
    chat_avatar = age(ImageAttachmentFactory(uploader=user), hours=48)
    chat = share_in_chat(AttachmentFactory(uploader=user), sender=user, members=[]).chat
    chat.avatar = chat_avatar
    chat.save(update_fields=["avatar"])
    stale_files = [local_storage / stale.storage_key, local_storage / stale.thumbnail_key]
    assert all(path.is_file() for path in stale_files)

    with django_capture_on_commit_callbacks(execute=True):
        output = run_cleanup()

    assert "Deleted 1 " in output
    assert not Attachment.objects.filter(pk=stale.pk).exists()
    assert not any(path.exists() for path in stale_files)
    kept = {fresh.pk, sent.pk, avatar.pk, chat_avatar.pk}
    assert kept <= set(Attachment.objects.values_list("pk", flat=True))
    for attachment in Attachment.objects.filter(pk__in=kept):
        assert (local_storage / attachment.storage_key).is_file()


def test_files_stay_until_the_deletion_commits(user, local_storage, django_capture_on_commit_callbacks):
    stale = age(AttachmentFactory(uploader=user), hours=30)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        run_cleanup()
    assert (local_storage / stale.storage_key).is_file()  # rolled back here would leave it intact
    for callback in callbacks:
        callback()
    assert not (local_storage / stale.storage_key).exists()


def test_dry_run_only_counts(user):
    age(AttachmentFactory(uploader=user), hours=30)
    assert "Would delete 1 " in run_cleanup("--dry-run")
    assert Attachment.objects.count() == 1


def test_age_is_configurable(user, django_capture_on_commit_callbacks):
    age(AttachmentFactory(uploader=user), hours=3)
    with django_capture_on_commit_callbacks(execute=True):
        assert "Deleted 0 " in run_cleanup()
        assert "Deleted 1 " in run_cleanup("--older-than-hours", "2")


def test_many_uploads_are_deleted_in_batches(user, django_capture_on_commit_callbacks):
    for attachment in AttachmentFactory.create_batch(205, uploader=user):
        age(attachment, hours=30)
    with django_capture_on_commit_callbacks(execute=True):
        assert "Deleted 205 " in run_cleanup()
    assert not Attachment.objects.exists()


def test_attachment_delete_removes_files(user, local_storage, django_capture_on_commit_callbacks):
    image = ImageAttachmentFactory(uploader=user)
    paths = [local_storage / image.storage_key, local_storage / image.thumbnail_key]
    with django_capture_on_commit_callbacks(execute=True):
        attachment_delete(attachment=image)
    assert not any(path.exists() for path in paths)


@pytest.mark.django_db(transaction=True)
def test_an_upload_being_attached_right_now_is_not_deleted(user, other_user, local_storage):
    """The send function locks the attachments it checks until it commits; cleanup skips them."""
    stale = age(AttachmentFactory(uploader=user), hours=30)
    chat = direct_chat(user, other_user)
    failures: list[BaseException] = []

    def send_message() -> None:
        try:
            send(user, chat, text="", client_id="with-file", attachment_ids=[stale.pk])
        except BaseException as exc:  # noqa: BLE001 - reported to the main thread
            failures.append(exc)
        finally:
            connection.close()

    # Another transaction holds the chat row, so the send stops right after locking the attachment.
    with psycopg.connect(**psycopg_params()) as holder:
        holder.execute("SELECT 1 FROM chats_chat WHERE id = %s FOR UPDATE", [chat.pk])
        sender = threading.Thread(target=send_message)
        sender.start()
        _wait_for_a_lock_wait()
        created_before = timezone.now() - timedelta(hours=24)
        assert attachment_cleanup_unattached(created_before=created_before) == 0
        holder.rollback()
    sender.join(10)
    assert not failures
    assert attachment_cleanup_unattached(created_before=created_before) == 0  # now referenced
    assert Message.objects.get(client_id="with-file").attachments.filter(pk=stale.pk).exists()
    assert (local_storage / stale.storage_key).is_file()


def _wait_for_a_lock_wait() -> None:
    with psycopg.connect(**psycopg_params(), autocommit=True) as observer:
        for _ in range(200):
            waiting = observer.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            ).fetchone()[0]
            if waiting:
                return
            time.sleep(0.05)
    raise AssertionError("the send never waited for the chat row")
