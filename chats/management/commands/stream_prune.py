from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand

from chats.services.retention import stream_prune


class Command(BaseCommand):
    help = "Delete stream events older than EVENT_RETENTION_DAYS (run daily, e.g. from cron)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--days", type=float, default=settings.EVENT_RETENTION_DAYS)

    def handle(self, *args, days: float, **options) -> None:
        deleted = stream_prune(older_than=timedelta(days=days))
        self.stdout.write(f"Deleted {deleted} stream events older than {days:g} days.")
