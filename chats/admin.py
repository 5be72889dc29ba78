from django.contrib import admin

from chats.models import Chat, ChatMember, Message, SocketConnection, StreamEvent


class ChatMemberInline(admin.TabularInline):
    model = ChatMember
    raw_id_fields = ["user"]
    extra = 0
    readonly_fields = ["joined_at", "joined_event_id", "last_delivered_seq", "last_read_seq"]


@admin.register(Chat)
class ChatAdmin(admin.ModelAdmin):
    list_display = ["id", "type", "title", "last_seq", "last_activity_at", "created_at", "deleted_at"]
    list_filter = ["type", ("deleted_at", admin.EmptyFieldListFilter), "created_at"]
    search_fields = ["id", "title", "description"]
    readonly_fields = ["direct_key", "last_seq", "last_activity_at", "created_at", "updated_at"]
    raw_id_fields = ["created_by", "avatar"]
    inlines = [ChatMemberInline]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["id", "chat", "seq", "sender", "created_at", "edited_at", "deleted_at"]
    list_filter = [("deleted_at", admin.EmptyFieldListFilter), "created_at"]
    search_fields = ["id", "text", "sender__username", "chat__title", "client_id"]
    raw_id_fields = ["chat", "sender", "reply_to", "attachments"]
    readonly_fields = ["seq", "client_id", "created_at"]
    list_select_related = ["chat", "sender"]


@admin.register(StreamEvent)
class StreamEventAdmin(admin.ModelAdmin):
    list_display = ["id", "type", "chat", "user", "created_at"]
    list_filter = ["type", "created_at"]
    search_fields = ["id", "chat__id", "user__username"]
    raw_id_fields = ["chat", "user"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(SocketConnection)
class SocketConnectionAdmin(admin.ModelAdmin):
    list_display = ["channel_name", "user", "session", "connected_at"]
    search_fields = ["user__username", "channel_name"]
    raw_id_fields = ["user", "session"]
