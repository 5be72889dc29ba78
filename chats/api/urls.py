from django.urls import path

from chats.api import views

urlpatterns = [
    path("chats", views.ChatListView.as_view(), name="chats"),
    path("chats/direct", views.DirectChatView.as_view(), name="chats-direct"),
    path("chats/<uuid:chat_id>", views.ChatDetailView.as_view(), name="chats-detail"),
    path("chats/<uuid:chat_id>/members", views.MemberListView.as_view(), name="chats-members"),
    path("chats/<uuid:chat_id>/members/<uuid:user_id>", views.MemberDetailView.as_view(), name="chats-member"),
    path("chats/<uuid:chat_id>/messages", views.MessageListView.as_view(), name="chats-messages"),
    path("chats/<uuid:chat_id>/messages/<uuid:message_id>", views.MessageDetailView.as_view(), name="chats-message"),
    path("chats/<uuid:chat_id>/read", views.ReadView.as_view(), name="chats-read"),
    path("sync", views.SyncView.as_view(), name="sync"),
]
