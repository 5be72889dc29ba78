"""calls.services.deadlines: ring deadlines and reconnect grace periods fire once, whoever runs them."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from calls import services
from calls.models import Call, CallParticipant
from calls.services.deadlines import _leave_next_disconnected
from calls.tests.factories import device, start, stream_after
from chats.models import Message, SocketConnection
from chats.selectors import stream_position
from chats.tests.factories import direct_chat, group_chat


def socket_of(session, name: str = "ws.test.1") -> SocketConnection:
    return SocketConnection.objects.create(channel_name=name, user=session.user, session=session, server_id="other")


def answered(alice, bob, chat):
    """A 1:1 call alice started from her phone and bob answered from his; both phones have a socket."""
    alice_phone, bob_phone = device(alice), device(bob)
    call = start(alice, chat, session=alice_phone)
    services.call_accept(user=bob, session_id=bob_phone.pk, call_id=call.pk)
    socket_of(alice_phone, "ws.alice")
    socket_of(bob_phone, "ws.bob")
    return call, alice_phone, bob_phone


@pytest.mark.django_db
class TestRingDeadline:
    def test_an_unanswered_call_ends_missed_at_its_deadline_and_only_then(self, alice, bob):
        chat = direct_chat(alice, bob)
        call = start(alice, chat)
        assert services.call_deadlines_fire(now=call.ring_deadline - timedelta(seconds=1)) == 0
        since = stream_position()
        assert services.call_deadlines_fire(now=call.ring_deadline) == 1
        ended = Call.objects.get(pk=call.pk)
        assert (ended.state, ended.end_reason, ended.ended_at) == ("ended", "missed", call.ring_deadline)
        assert [event.type for event in stream_after(since)] == ["message:new", "call:ended"]
        assert services.call_deadlines_fire(now=call.ring_deadline + timedelta(minutes=1)) == 0
        assert Message.objects.filter(chat=chat, kind="call").count() == 1

    def test_an_answered_call_and_a_going_group_call_are_not_missed(self, alice, bob, carol):
        call, _, _ = answered(alice, bob, direct_chat(alice, bob))
        group_call = start(alice, group_chat(alice, [bob, carol]))
        services.call_join(user=bob, session_id=device(bob, "tablet").pk, call_id=group_call.pk)
        socket_of(CallParticipant.objects.get(call=group_call, user=alice).session, "ws.alice.2")
        socket_of(CallParticipant.objects.get(call=group_call, user=bob).session, "ws.bob.2")
        assert services.call_deadlines_fire(now=call.ring_deadline + timedelta(hours=1)) == 0
        assert set(Call.objects.values_list("state", flat=True)) == {"active"}

    def test_a_group_call_nobody_joined_is_missed_too(self, alice, bob):
        call = start(alice, group_chat(alice, [bob]))
        services.call_deadlines_fire(now=call.ring_deadline)
        assert Call.objects.get(pk=call.pk).end_reason == "missed"


@pytest.mark.django_db(transaction=True)
def test_two_processes_firing_at_once_end_a_call_once(alice, bob):
    """The deadline row is locked with SKIP LOCKED: two concurrent rounds make one transition."""
    call = start(alice, direct_chat(alice, bob))
    since = stream_position()
    barrier = threading.Barrier(2)
    results: list[int] = []

    def round_of_a_process() -> None:
        try:
            barrier.wait(timeout=10)
            results.append(services.call_deadlines_fire(now=call.ring_deadline))
        finally:
            connection.close()

    threads = [threading.Thread(target=round_of_a_process) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results) == [0, 1]
    assert [event.type for event in stream_after(since)] == ["message:new", "call:ended"]


@pytest.mark.django_db
class TestReconnectGrace:
    def test_a_session_without_a_socket_leaves_after_the_grace_period(self, alice, bob, settings):
        settings.CALL_RECONNECT_GRACE_SECONDS = 20
        call, _, bob_phone = answered(alice, bob, direct_chat(alice, bob))
        SocketConnection.objects.filter(session=bob_phone).delete()  # bob's socket closed
        now = timezone.now()
        assert services.call_deadlines_fire(now=now) == 0
        bob_row = CallParticipant.objects.get(call=call, user=bob)
        assert bob_row.reconnect_deadline == now + timedelta(seconds=20)
        assert CallParticipant.objects.get(call=call, user=alice).reconnect_deadline is None
        assert services.call_deadlines_fire(now=now + timedelta(seconds=19)) == 0
        since = stream_position()
        assert services.call_deadlines_fire(now=now + timedelta(seconds=20)) == 1
        ended = Call.objects.get(pk=call.pk)
        assert (ended.state, ended.end_reason) == ("ended", "disconnected")
        assert [event.type for event in stream_after(since)] == ["message:new", "call:ended"]

    def test_a_socket_back_within_the_grace_period_keeps_the_session_in(self, alice, bob):
        call, _, bob_phone = answered(alice, bob, direct_chat(alice, bob))
        SocketConnection.objects.filter(session=bob_phone).delete()
        now = timezone.now()
        services.call_deadlines_fire(now=now)
        socket_of(bob_phone, "ws.bob.again")  # reconnected
        services.call_deadlines_fire(now=now + timedelta(seconds=5))
        assert CallParticipant.objects.get(call=call, user=bob).reconnect_deadline is None
        assert services.call_deadlines_fire(now=now + timedelta(minutes=5)) == 0
        assert Call.objects.get(pk=call.pk).state == "active"

    def test_a_socket_back_just_at_the_deadline_is_seen_under_the_lock(self, alice, bob):
        call, _, bob_phone = answered(alice, bob, direct_chat(alice, bob))
        SocketConnection.objects.filter(session=bob_phone).delete()
        now = timezone.now()
        services.call_deadlines_fire(now=now)
        socket_of(bob_phone, "ws.bob.again")
        # As if the socket came back between this round's marking and its firing.
        CallParticipant.objects.filter(call=call, user=bob).update(reconnect_deadline=now)
        assert _leave_next_disconnected(now + timedelta(seconds=1)) is True
        assert Call.objects.get(pk=call.pk).state == "active"
        assert CallParticipant.objects.get(call=call, user=bob).reconnect_deadline is None

    def test_in_a_group_call_the_session_leaves_and_the_call_goes_on(self, alice, bob, carol):
        group = group_chat(alice, [bob, carol])
        alice_phone = device(alice)
        call = start(alice, group, session=alice_phone)
        bob_phone, carol_phone = device(bob), device(carol)
        services.call_join(user=bob, session_id=bob_phone.pk, call_id=call.pk)
        services.call_join(user=carol, session_id=carol_phone.pk, call_id=call.pk)
        socket_of(alice_phone, "ws.alice")
        socket_of(carol_phone, "ws.carol")
        now = timezone.now()
        services.call_deadlines_fire(now=now)
        since = stream_position()
        assert services.call_deadlines_fire(now=now + timedelta(seconds=20)) == 1
        assert Call.objects.get(pk=call.pk).state == "active"
        assert CallParticipant.objects.get(call=call, user=bob).left_at == now + timedelta(seconds=20)
        events = stream_after(since)
        assert {(event.type, event.user_id) for event in events} == {
            ("call:participant_left", str(user.pk)) for user in (alice, bob, carol)
        }

    def test_while_a_call_rings_only_its_ring_deadline_counts(self, alice, bob):
        call = start(alice, direct_chat(alice, bob))  # the caller has no socket at all
        now = timezone.now()
        services.call_deadlines_fire(now=now)
        assert CallParticipant.objects.get(call=call).reconnect_deadline is None
        assert services.call_deadlines_fire(now=now + timedelta(seconds=30)) == 0
        assert Call.objects.get(pk=call.pk).state == "ringing"
