"""Calls in the admin: read-only records (calls change only through calls.services)."""

from django.contrib import admin

from calls.models import Call, CallInvitee, CallParticipant


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class CallParticipantInline(_ReadOnlyInline):
    model = CallParticipant
    fields = ["user", "session", "joined_at", "left_at", "reconnect_deadline"]
    readonly_fields = fields


class CallInviteeInline(_ReadOnlyInline):
    model = CallInvitee
    fields = ["user", "state", "responded_at"]
    readonly_fields = fields


@admin.register(Call)
class CallAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "chat", "initiator", "state", "end_reason", "created_at", "duration_seconds"]
    list_filter = ["state", "kind", "end_reason", ("created_at", admin.DateFieldListFilter)]
    date_hierarchy = "created_at"
    search_fields = ["id", "chat__id", "chat__title", "initiator__username"]
    list_select_related = ["chat", "initiator"]
    inlines = [CallParticipantInline, CallInviteeInline]
    readonly_fields = [field.name for field in Call._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
