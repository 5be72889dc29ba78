"""Builders for chats in tests. They go through the services, as real clients do."""

from asgiref.sync import async_to_sync

from accounts.tests.factories import UserFactory
from chats import services
from chats.models import Chat, Message


def direct_chat(first=None, second=None) -> Chat:
    first = first or UserFactory()
    second = second or UserFactory()
    chat, _ = services.chat_direct_get_or_create(user=first, other_user_id=second.pk)
    return chat


def group_chat(owner=None, members=(), *, type: str = Chat.Type.GROUP, title: str = "Team") -> Chat:
    owner = owner or UserFactory()
    return services.chat_create(creator=owner, type=type, title=title, member_ids=[m.pk for m in members])


def send(sender, chat: Chat, text: str = "hello", client_id: str | None = None, **fields) -> Message:
    client_id = client_id or f"c-{Chat.objects.get(pk=chat.pk).last_seq + 1}-{sender.pk}"
    sent = async_to_sync(services.message_send)(
        sender=sender, chat_id=chat.pk, client_id=client_id, text=text, **fields
    )
    return Message.objects.get(pk=sent.message["id"])
