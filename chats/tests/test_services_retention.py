from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from chats.models import StreamEvent, StreamRetention
from chats.selectors import stream_events_for_user
from chats.tests.factories import direct_chat, send
from messenger.errors import ApplicationError

pytestmark = pytest.mark.django_db


def test_prune_deletes_old_events_and_expires_old_cursors(user, other_user):
    chat = direct_chat(user, other_user)
    old = send(user, chat, "old")
    StreamEvent.objects.update(created_at=timezone.now() - timedelta(days=40))
    send(user, chat, "new")
    call_command("stream_prune", "--days", "30")
    horizon = StreamRetention.objects.get().pruned_through_id
    assert not StreamEvent.objects.filter(id__lte=horizon).exists()
    assert StreamEvent.objects.filter(type="message:new").count() == 1
    with pytest.raises(ApplicationError) as error:
        stream_events_for_user(user_id=other_user.pk, after=0)
    assert error.value.code == "cursor_expired"
    page = stream_events_for_user(user_id=other_user.pk, after=horizon)
    assert [event.payload["text"] for event in page.events] == ["new"]
    assert old.text == "old"
