from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from media.services import attachment_cleanup_unattached


class Command(BaseCommand):
    help = (
        "Delete uploads older than MEDIA_UNATTACHED_TTL_HOURS that no message, user avatar or chat avatar "
        "uses, with their stored files and thumbnails. Run it periodically (e.g. hourly from cron)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--older-than-hours",
            type=int,
            default=settings.MEDIA_UNATTACHED_TTL_HOURS,
            help="Only uploads at least this old (default: MEDIA_UNATTACHED_TTL_HOURS).",
        )
        parser.add_argument("--dry-run", action="store_true", help="Only count what would be deleted.")

    def handle(self, *args, older_than_hours: int, dry_run: bool, **options) -> None:
        created_before = timezone.now() - timedelta(hours=older_than_hours)
        count = attachment_cleanup_unattached(created_before=created_before, dry_run=dry_run)
        verb = "Would delete" if dry_run else "Deleted"
        self.stdout.write(f"{verb} {count} unattached upload(s) older than {older_than_hours} h.")
