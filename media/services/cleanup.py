"""Removing attachments and the stored bytes behind them."""

import logging
from datetime import datetime

from django.db import transaction

from media.models import Attachment
from media.selectors import attachment_list_unattached, attachment_list_unreferenced
from media.storage import storage_delete

logger = logging.getLogger(__name__)

_BATCH_SIZE = 200


def attachment_delete(*, attachment: Attachment) -> None:
    """Delete one attachment; its file and thumbnail go once the deletion has committed."""
    keys = (attachment.storage_key, attachment.thumbnail_key)
    with transaction.atomic():
        attachment.delete()
        transaction.on_commit(lambda: storage_delete(*keys))


def attachment_delete_unreferenced(*, attachment_ids) -> int:
    """Delete those of `attachment_ids` that nothing uses any more (a message deleted for everyone
    erases its files); their stored bytes go once the caller's transaction commits.

    Runs in the caller's transaction. The rows are locked in pk order, as a send locks the files it
    attaches, and checked under the lock: a message that shares one (a forward) keeps it.
    """
    if not attachment_ids:
        return 0
    with transaction.atomic():
        locked = list(
            Attachment.objects.filter(pk__in=attachment_ids).select_for_update().order_by("pk").values_list("pk")
        )
        doomed = list(
            attachment_list_unreferenced()
            .filter(pk__in=[pk for (pk,) in locked])
            .values_list("pk", "storage_key", "thumbnail_key")
        )
        Attachment.objects.filter(pk__in=[pk for pk, _, _ in doomed]).delete()
        keys = [key for _, storage_key, thumbnail_key in doomed for key in (storage_key, thumbnail_key)]
        if keys:
            transaction.on_commit(lambda: storage_delete(*keys))
    return len(doomed)


def attachment_cleanup_unattached(*, created_before: datetime, dry_run: bool = False) -> int:
    """Delete uploads from before `created_before` that no message or avatar uses. Returns how many.

    A message being sent may claim an old upload at the same moment, so each batch is locked
    (pk order) and checked again under the lock before anything is deleted; stored files are
    removed only after the rows are gone for good.
    """
    if dry_run:
        return attachment_list_unattached(created_before=created_before).count()
    deleted = 0
    while True:
        with transaction.atomic():
            batch = list(
                attachment_list_unattached(created_before=created_before)
                .select_for_update(skip_locked=True)
                .order_by("pk")
                .values_list("pk", flat=True)[:_BATCH_SIZE]
            )
            if not batch:
                return deleted
            # A fresh statement sees references committed after the batch query's snapshot; the
            # row locks keep new ones out until we commit.
            doomed = list(
                attachment_list_unattached(created_before=created_before)
                .filter(pk__in=batch)
                .values_list("pk", "storage_key", "thumbnail_key")
            )
            Attachment.objects.filter(pk__in=[pk for pk, _, _ in doomed]).delete()
            keys = [key for _, storage_key, thumbnail_key in doomed for key in (storage_key, thumbnail_key)]
            transaction.on_commit(lambda keys=keys: storage_delete(*keys))
        deleted += len(doomed)
        logger.info("media cleanup: deleted %d unattached uploads", len(doomed))
