"""Pruning the durable event stream."""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from chats.models import StreamEvent, StreamRetention


def stream_prune(*, older_than: timedelta | None = None) -> int:
    """Delete stream events older than the retention period; returns how many.

    Clients whose cursor predates the pruned range get `cursor_expired` and reload over REST.
    """
    older_than = older_than if older_than is not None else timedelta(days=settings.EVENT_RETENTION_DAYS)
    cutoff = timezone.now() - older_than
    with transaction.atomic():
        last_old_id = (
            StreamEvent.objects.filter(created_at__lt=cutoff).order_by("-id").values_list("id", flat=True).first()
        )
        if last_old_id is None:
            return 0
        retention, _ = StreamRetention.objects.select_for_update().get_or_create(pk=1)
        # Record the horizon first: a cursor below it can no longer be served gap-free.
        retention.pruned_through_id = max(retention.pruned_through_id, last_old_id)
        retention.save(update_fields=["pruned_through_id"])
        deleted, _ = StreamEvent.objects.filter(id__lte=last_old_id).delete()
    return deleted
