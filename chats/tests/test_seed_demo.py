import pytest
from django.core.management import call_command

from accounts.models import User
from chats.management.commands.seed_demo import DEMO_PASSWORD
from chats.models import Chat, Message

pytestmark = pytest.mark.django_db


def test_seed_demo_is_idempotent():
    call_command("seed_demo")
    call_command("seed_demo")
    assert set(User.objects.values_list("username", flat=True)) == {"alice", "bob", "carol"}
    assert User.objects.get(username="alice").check_password(DEMO_PASSWORD)
    assert Chat.objects.count() == 2
    assert Message.objects.count() == 3
