from django.urls import path

from chats.api import folder_views, invite_views, views

urlpatterns = [
    path("chats", views.ChatListView.as_view(), name="chats"),
    path("chats/direct", views.DirectChatView.as_view(), name="chats-direct"),
    path("chats/<uuid:chat_id>", views.ChatDetailView.as_view(), name="chats-detail"),
    path("chats/<uuid:chat_id>/members", views.MemberListView.as_view(), name="chats-members"),
    path("chats/<uuid:chat_id>/members/<uuid:user_id>", views.MemberDetailView.as_view(), name="chats-member"),
    path("chats/<uuid:chat_id>/messages", views.MessageListView.as_view(), name="chats-messages"),
    path("chats/<uuid:chat_id>/messages/<uuid:message_id>", views.MessageDetailView.as_view(), name="chats-message"),
    path(
        "chats/<uuid:chat_id>/messages/<uuid:message_id>/edits",
        views.MessageEditListView.as_view(),
        name="chats-message-edits",
    ),
    path(
        "chats/<uuid:chat_id>/messages/<uuid:message_id>/reactions/<str:emoji>",
        views.ReactionView.as_view(),
        name="chats-message-reaction",
    ),
    path("chats/<uuid:chat_id>/pins", views.PinListView.as_view(), name="chats-pins"),
    path("chats/<uuid:chat_id>/pins/<uuid:message_id>", views.PinView.as_view(), name="chats-pin"),
    path("chats/<uuid:chat_id>/mentions", views.MentionListView.as_view(), name="chats-mentions"),
    path("chats/<uuid:chat_id>/read", views.ReadView.as_view(), name="chats-read"),
    path("chats/<uuid:chat_id>/settings", views.ChatSettingsView.as_view(), name="chats-settings"),
    path("chats/<uuid:chat_id>/leave", views.ChatLeaveView.as_view(), name="chats-leave"),
    path("chats/<uuid:chat_id>/invites", invite_views.ChatInviteListView.as_view(), name="chats-invites"),
    path("chats/<uuid:chat_id>/invites/<str:code>", invite_views.ChatInviteDetailView.as_view(), name="chats-invite"),
    path("invites/<str:code>", invite_views.InvitePreviewView.as_view(), name="invites-preview"),
    path("invites/<str:code>/join", invite_views.InviteJoinView.as_view(), name="invites-join"),
    path("folders", folder_views.FolderListView.as_view(), name="folders"),
    path("folders/order", folder_views.FolderOrderView.as_view(), name="folders-order"),
    path("folders/<uuid:folder_id>", folder_views.FolderDetailView.as_view(), name="folders-detail"),
    path("sync", views.SyncView.as_view(), name="sync"),
]
