"""Writes of the media app. Import services from here."""

from media.services.cleanup import attachment_cleanup_unattached, attachment_delete, attachment_delete_unreferenced
from media.services.uploads import attachment_create

__all__ = [
    "attachment_cleanup_unattached",
    "attachment_create",
    "attachment_delete",
    "attachment_delete_unreferenced",
]
