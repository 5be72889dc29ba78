from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from accounts.models import Block, Contact, DeviceSession, PhoneOTP, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "display_name", "phone", "email", "is_active", "is_staff", "last_seen", "date_joined"]
    list_filter = ["is_active", "is_staff", "is_superuser", "date_joined"]
    search_fields = ["username", "display_name", "phone", "email", "id"]
    ordering = ["-date_joined"]
    readonly_fields = ["id", "last_seen", "last_login", "date_joined"]
    fieldsets = [
        (None, {"fields": ["id", "username", "password"]}),
        ("Profile", {"fields": ["display_name", "bio", "phone", "email", "avatar"]}),
        ("Permissions", {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        ("Dates", {"fields": ["last_seen", "last_login", "date_joined"]}),
    ]
    raw_id_fields = ["avatar"]


@admin.register(DeviceSession)
class DeviceSessionAdmin(admin.ModelAdmin):
    list_display = ["id", "user", "device_name", "ip_address", "created_at", "last_used_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter), "revoked_reason", "created_at"]
    search_fields = ["user__username", "device_name", "ip_address", "id"]
    raw_id_fields = ["user"]
    readonly_fields = ["refresh_jti", "previous_refresh_jti", "rotated_at", "created_at", "last_used_at"]


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["owner", "contact", "name", "created_at"]
    search_fields = ["owner__username", "contact__username", "name"]
    list_filter = ["created_at"]
    raw_id_fields = ["owner", "contact"]


@admin.register(Block)
class BlockAdmin(admin.ModelAdmin):
    list_display = ["blocker", "blocked", "created_at"]
    search_fields = ["blocker__username", "blocked__username"]
    list_filter = ["created_at"]
    raw_id_fields = ["blocker", "blocked"]


@admin.register(PhoneOTP)
class PhoneOTPAdmin(admin.ModelAdmin):
    list_display = ["phone", "created_at", "expires_at", "attempts", "consumed_at", "requested_ip"]
    search_fields = ["phone", "requested_ip"]
    list_filter = [("consumed_at", admin.EmptyFieldListFilter), "created_at"]
    exclude = ["code_hash"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
