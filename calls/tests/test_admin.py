"""The calls admin: calls with their participants inline, filtered by state, kind, reason and date."""

import pytest
from django.urls import reverse

from accounts.tests.factories import UserFactory
from calls import services
from calls.tests.factories import device, start
from chats.tests.factories import direct_chat

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_the_list_filters_and_the_page_shows_the_participants(staff_client, alice, bob):
    ended = start(alice, direct_chat(alice, bob), kind="video")
    bob_phone = device(bob, "bobs-phone")
    services.call_accept(user=bob, session_id=bob_phone.pk, call_id=ended.pk)
    services.call_end(user=alice, session_id=device(alice).pk, call_id=ended.pk)
    ringing = start(bob, direct_chat(bob, UserFactory()))
    changelist = reverse("admin:calls_call_changelist")

    def listed(**query) -> set[str]:
        response = staff_client.get(changelist, query)
        assert response.status_code == 200
        return {str(call.pk) for call in response.context["cl"].result_list}

    assert listed() == {str(ended.pk), str(ringing.pk)}
    assert listed(state__exact="ended") == {str(ended.pk)}
    assert listed(kind__exact="video") == {str(ended.pk)}
    assert listed(end_reason__exact="completed") == {str(ended.pk)}
    assert listed(created_at__year=ended.created_at.year) == {str(ended.pk), str(ringing.pk)}
    page = staff_client.get(reverse("admin:calls_call_change", args=[ended.pk]))
    assert page.status_code == 200
    assert "bobs-phone" in page.content.decode()  # the participants inline
    assert staff_client.get(reverse("admin:calls_call_add")).status_code == 403
