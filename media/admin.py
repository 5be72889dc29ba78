from django.contrib import admin

from media.models import Attachment
from media.services import attachment_delete


@admin.register(Attachment)
class AttachmentAdmin(admin.ModelAdmin):
    list_display = ["id", "original_filename", "kind", "content_type", "size", "uploader", "created_at"]
    list_filter = ["kind", "content_type", "created_at"]
    search_fields = ["id", "original_filename", "uploader__username", "storage_key"]
    raw_id_fields = ["uploader"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "id",
        "uploader",
        "kind",
        "storage_key",
        "thumbnail_key",
        "original_filename",
        "content_type",
        "size",
        "width",
        "height",
        "duration_seconds",
        "created_at",
    ]

    def has_add_permission(self, request) -> bool:
        return False  # uploads go through the pipeline (type check, re-encoding, quota)

    def delete_model(self, request, obj: Attachment) -> None:
        attachment_delete(attachment=obj)

    def delete_queryset(self, request, queryset) -> None:
        # One by one so every stored file and thumbnail goes with its row.
        for attachment in queryset:
            attachment_delete(attachment=attachment)
