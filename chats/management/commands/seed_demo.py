"""Create demo users and chats. Safe to run again: it only adds what is missing."""

from asgiref.sync import async_to_sync
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import User
from chats import services
from chats.models import Chat

DEMO_PASSWORD = "messenger-demo-2026"  # noqa: S105 - a published demo password, by design
DEMO_USERS = [
    ("alice", "Alice Example", "+14155550101"),
    ("bob", "Bob Example", "+14155550102"),
    ("carol", "Carol Example", "+14155550103"),
]


class Command(BaseCommand):
    help = f"Create demo users alice, bob and carol (password {DEMO_PASSWORD!r}) and chats between them."

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        users = {}
        for username, display_name, phone in DEMO_USERS:
            user, created = User.objects.get_or_create(
                username=username, defaults={"display_name": display_name, "phone": phone}
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save(update_fields=["password"])
            users[username] = user
        alice, bob, carol = users["alice"], users["bob"], users["carol"]

        direct, _ = services.chat_direct_get_or_create(user=alice, other_user_id=bob.pk)
        # Fixed client ids make the messages idempotent: a second run stores nothing new.
        send = async_to_sync(services.message_send)
        send(sender=alice, chat_id=direct.pk, client_id="demo-1", text="Hi Bob! 👋")
        send(sender=bob, chat_id=direct.pk, client_id="demo-2", text="Hey Alice, welcome aboard.")

        group = Chat.objects.filter(created_by=alice, title="Demo group", deleted_at__isnull=True).first()
        if group is None:
            group = services.chat_create(
                creator=alice, type=Chat.Type.GROUP, title="Demo group", member_ids=[bob.pk, carol.pk]
            )
        send(sender=carol, chat_id=group.pk, client_id="demo-3", text="Hello everyone!")
        self.stdout.write(
            f"Demo users: alice, bob, carol — password {DEMO_PASSWORD!r} "
            f"(phones {', '.join(phone for _, _, phone in DEMO_USERS)})"
        )
