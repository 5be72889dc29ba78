"""calls.services.calls: every transition and rule of a call, what each stores and which events it
emits to whom (read back from the stream and checked against the AsyncAPI file)."""

import json
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Block
from calls import services
from calls.models import Call, CallInvitee, CallParticipant
from calls.tests.factories import device, start, stream_after
from chats.models import Chat, ChatMember, Message
from chats.selectors import stream_position
from chats.tests.factories import direct_chat, group_chat
from messenger.errors import ApplicationError

pytestmark = pytest.mark.django_db


def code_of(error: pytest.ExceptionInfo) -> str:
    return error.value.code


def call_message(chat) -> dict:
    message = Message.objects.filter(chat=chat, kind=Message.Kind.CALL).get()
    return json.loads(message.system_json) | {"sender_id": str(message.sender_id)}


class TestOneToOne:
    def test_start_rings_the_peer_and_the_caller_session_is_the_first_participant(self, alice, bob):
        chat = direct_chat(alice, bob)
        phone = device(alice)
        since = stream_position()
        call = services.call_start(user=alice, session_id=phone.pk, chat_id=chat.pk, kind="video", origin="ws.x")
        assert (call.state, call.kind, call.initiator_id, call.initiator_session_id) == (
            "ringing",
            "video",
            alice.pk,
            phone.pk,
        )
        assert call.ring_deadline == call.created_at + timedelta(seconds=45)
        assert [(p.user_id, p.session_id, p.left_at) for p in call.participants.all()] == [(alice.pk, phone.pk, None)]
        assert list(CallInvitee.objects.filter(call=call).values_list("user_id", "state")) == [(bob.pk, "ringing")]
        (incoming,) = stream_after(since)
        assert (incoming.type, incoming.chat_id, incoming.user_id) == ("call:incoming", str(chat.pk), None)
        assert incoming.data["from_user_id"] == str(alice.pk)
        assert incoming.data["call"]["id"] == str(call.pk) and incoming.data["call"]["chat_type"] == "direct"

    def test_accept_makes_it_active_and_tells_both_sides(self, alice, bob):
        chat = direct_chat(alice, bob)
        call = start(alice, chat)
        bob_phone = device(bob)
        since = stream_position()
        accepted = services.call_accept(user=bob, session_id=bob_phone.pk, call_id=call.pk)
        assert accepted.state == "active" and accepted.answered_at is not None
        assert [p.user_id for p in accepted.participants.all()] == [alice.pk, bob.pk]
        assert CallInvitee.objects.get(call=call).state == "accepted"
        (event,) = stream_after(since)
        assert (event.type, event.chat_id) == ("call:accepted", str(chat.pk))
        assert (event.data["user_id"], event.data["session_id"]) == (str(bob.pk), str(bob_phone.pk))

    def test_a_second_device_cannot_answer_and_the_same_one_again_changes_nothing(self, alice, bob):
        call = start(alice, direct_chat(alice, bob))
        phone, tablet = device(bob, "phone"), device(bob, "tablet")
        services.call_accept(user=bob, session_id=phone.pk, call_id=call.pk)
        since = stream_position()
        with pytest.raises(ApplicationError) as error:
            services.call_accept(user=bob, session_id=tablet.pk, call_id=call.pk)
        assert code_of(error) == "call_already_joined" and error.value.details == {"call_id": str(call.pk)}
        again = services.call_accept(user=bob, session_id=phone.pk, call_id=call.pk)
        assert len(again.participants.all()) == 2 and stream_after(since) == []
        with pytest.raises(ApplicationError) as error:  # the caller's other device
            services.call_accept(user=alice, session_id=device(alice, "laptop").pk, call_id=call.pk)
        assert code_of(error) == "call_already_joined"

    def test_reject_ends_it_rejected_with_a_call_message_before_the_event(self, alice, bob):
        chat = direct_chat(alice, bob)
        call = start(alice, chat)
        since = stream_position()
        ended = services.call_reject(user=bob, session_id=device(bob).pk, call_id=call.pk)
        assert (ended.state, ended.end_reason, ended.duration_seconds) == ("ended", "rejected", 0)
        assert CallInvitee.objects.get(call=call).state == "rejected"
        assert all(p.left_at == ended.ended_at for p in ended.participants.all())
        new, event = stream_after(since)
        assert (new.type, new.data["kind"], event.type, event.chat_id) == (
            "message:new",
            "call",
            "call:ended",
            str(chat.pk),
        )
        assert event.data["call"]["end_reason"] == "rejected"
        assert call_message(chat) == {
            "event": "call",
            "call_id": str(call.pk),
            "call_kind": "audio",
            "reason": "rejected",
            "duration_seconds": 0,
            "sender_id": str(alice.pk),
        }

    def test_the_caller_hanging_up_while_it_rings_cancels_and_the_callee_rejects(self, alice, bob):
        first = start(alice, direct_chat(alice, bob))
        assert services.call_end(user=alice, session_id=device(alice).pk, call_id=first.pk).end_reason == "cancelled"
        second = start(alice, direct_chat(bob, alice))  # the same chat, free again
        ended = services.call_end(user=bob, session_id=device(bob).pk, call_id=second.pk)
        assert ended.end_reason == "rejected" and CallInvitee.objects.get(call=second).state == "rejected"

    def test_hanging_up_an_answered_call_completes_it_with_its_duration(self, alice, bob):
        chat = direct_chat(alice, bob)
        call = start(alice, chat)
        services.call_accept(user=bob, session_id=device(bob).pk, call_id=call.pk)
        Call.objects.filter(pk=call.pk).update(answered_at=timezone.now() - timedelta(seconds=75, milliseconds=400))
        ended = services.call_end(user=bob, session_id=device(bob, "tablet").pk, call_id=call.pk)  # any device
        assert (ended.end_reason, ended.duration_seconds) == ("completed", 75)
        assert call_message(chat)["duration_seconds"] == 75
        since = stream_position()
        assert services.call_end(user=alice, session_id=device(alice).pk, call_id=call.pk).end_reason == "completed"
        assert stream_after(since) == []  # ending again changes nothing

    def test_a_device_that_could_not_connect_ends_it_failed(self, alice, bob):
        call = start(alice, direct_chat(alice, bob))
        services.call_accept(user=bob, session_id=device(bob).pk, call_id=call.pk)
        ended = services.call_end(user=alice, session_id=device(alice).pk, call_id=call.pk, reason="failed")
        assert ended.end_reason == "failed"

    def test_answering_or_declining_an_ended_call_is_call_ended(self, alice, bob):
        call = start(alice, direct_chat(alice, bob))
        services.call_end(user=alice, session_id=device(alice).pk, call_id=call.pk)
        for service in (services.call_accept, services.call_reject, services.call_join):
            with pytest.raises(ApplicationError) as error:
                service(user=bob, session_id=device(bob).pk, call_id=call.pk)
            assert code_of(error) == "call_ended" and error.value.status == 409

    def test_answering_after_the_ring_deadline_ends_it_missed_once(self, alice, bob):
        chat = direct_chat(alice, bob)
        call = start(alice, chat)
        Call.objects.filter(pk=call.pk).update(ring_deadline=timezone.now() - timedelta(seconds=1))
        since = stream_position()
        with pytest.raises(ApplicationError) as error:
            services.call_accept(user=bob, session_id=device(bob).pk, call_id=call.pk)
        assert code_of(error) == "call_ended"
        assert Call.objects.get(pk=call.pk).end_reason == "missed"
        with pytest.raises(ApplicationError):
            services.call_accept(user=bob, session_id=device(bob).pk, call_id=call.pk)
        assert [event.type for event in stream_after(since)] == ["message:new", "call:ended"]


class TestRules:
    def test_only_members_may_start_or_see_a_call(self, alice, bob, carol):
        chat = direct_chat(alice, bob)
        with pytest.raises(ApplicationError) as error:
            start(carol, chat)
        assert code_of(error) == "not_found"
        with pytest.raises(ApplicationError) as error:
            services.call_start(user=alice, session_id=device(alice).pk, chat_id=uuid.uuid4(), kind="audio")
        assert code_of(error) == "not_found"
        call = start(alice, chat)
        for service in (services.call_accept, services.call_reject, services.call_join, services.call_end):
            with pytest.raises(ApplicationError) as error:
                service(user=carol, session_id=device(carol).pk, call_id=call.pk)
            assert code_of(error) == "not_found"
        with pytest.raises(ApplicationError) as error:
            services.call_accept(user=bob, session_id=device(bob).pk, call_id=uuid.uuid4())
        assert code_of(error) == "not_found"

    def test_a_blocked_pair_cannot_call_either_way(self, alice, bob):
        chat = direct_chat(alice, bob)
        Block.objects.create(blocker=bob, blocked=alice)
        for caller in (alice, bob):
            with pytest.raises(ApplicationError) as error:
                start(caller, chat)
            assert code_of(error) == "blocked" and error.value.status == 403
        assert not Call.objects.exists()

    def test_channels_have_no_calls(self, alice, bob):
        channel = group_chat(alice, [bob], type=Chat.Type.CHANNEL)
        with pytest.raises(ApplicationError) as error:
            start(alice, channel)
        assert code_of(error) == "call_not_allowed"

    def test_one_ongoing_call_per_chat(self, alice, bob):
        chat = direct_chat(alice, bob)
        call = start(alice, chat)
        with pytest.raises(ApplicationError) as error:
            start(bob, chat)
        assert code_of(error) == "call_in_progress" and error.value.details == {"call_id": str(call.pk)}

    def test_calling_a_user_who_is_ringing_is_busy_and_nobody_rings(self, alice, bob, carol):
        start(carol, direct_chat(carol, bob))  # bob is ringing
        chat = direct_chat(alice, bob)
        since = stream_position()
        busy = start(alice, chat)
        assert (busy.state, busy.end_reason, busy.duration_seconds) == ("ended", "busy", 0)
        assert [event.type for event in stream_after(since)] == ["message:new", "call:ended"]
        assert call_message(chat)["reason"] == "busy"

    def test_calling_a_user_in_another_one_to_one_call_is_busy(self, alice, bob, carol):
        call = start(bob, direct_chat(bob, carol))  # bob calls carol, who answers
        services.call_accept(user=carol, session_id=device(carol).pk, call_id=call.pk)
        assert start(alice, direct_chat(alice, bob)).end_reason == "busy"
        assert start(alice, direct_chat(alice, carol)).end_reason == "busy"
        services.call_end(user=bob, session_id=device(bob).pk, call_id=call.pk)
        assert start(alice, direct_chat(alice, bob)).state == "ringing"  # free again

    def test_a_group_call_someone_is_in_does_not_make_them_busy(self, alice, bob, carol):
        group = group_chat(carol, [bob])
        call = start(carol, group)
        services.call_accept(user=bob, session_id=device(bob).pk, call_id=call.pk)
        assert start(alice, direct_chat(alice, bob)).state == "ringing"

    def test_a_call_still_ends_when_its_chat_was_deleted(self, alice, bob):
        chat = direct_chat(alice, bob)
        call = start(alice, chat)
        Chat.objects.filter(pk=chat.pk).update(deleted_at=timezone.now())
        assert services.call_end(user=alice, session_id=device(alice).pk, call_id=call.pk).state == "ended"
        assert not Message.objects.filter(chat=chat, kind="call").exists()


class TestGroup:
    def test_a_group_call_rings_every_other_member(self, alice, bob, carol):
        group = group_chat(alice, [bob, carol])
        since = stream_position()
        call = start(alice, group)
        assert set(CallInvitee.objects.filter(call=call).values_list("user_id", flat=True)) == {bob.pk, carol.pk}
        (incoming,) = stream_after(since)
        assert (incoming.type, incoming.chat_id, incoming.data["call"]["chat_type"]) == (
            "call:incoming",
            str(group.pk),
            "group",
        )

    def test_accept_and_join_go_to_the_participants_and_the_users_other_devices(self, alice, bob, carol, dave):
        group = group_chat(alice, [bob, carol, dave])
        call = start(alice, group)
        since = stream_position()
        accepted = services.call_accept(user=bob, session_id=device(bob).pk, call_id=call.pk)
        assert accepted.state == "active"
        events = stream_after(since)
        assert {(event.type, event.user_id) for event in events} == {
            ("call:accepted", str(alice.pk)),
            ("call:accepted", str(bob.pk)),
        }
        assert all(event.chat_id is None for event in events)
        since = stream_position()
        carol_phone = device(carol)
        joined = services.call_join(user=carol, session_id=carol_phone.pk, call_id=call.pk)
        assert [p.user_id for p in joined.participants.all()] == [alice.pk, bob.pk, carol.pk]
        events = stream_after(since)
        assert {(event.type, event.user_id) for event in events} == {
            ("call:participant_joined", str(user.pk)) for user in (alice, bob, carol)
        }
        assert events[0].data == {"call_id": str(call.pk), "user_id": str(carol.pk), "session_id": str(carol_phone.pk)}

    def test_declining_a_group_call_stops_only_that_users_ringing(self, alice, bob, carol):
        group = group_chat(alice, [bob, carol])
        call = start(alice, group)
        since = stream_position()
        still = services.call_reject(user=bob, session_id=device(bob).pk, call_id=call.pk)
        assert still.state == "ringing"
        (event,) = stream_after(since)
        assert (event.type, event.user_id, event.chat_id, event.data["user_id"]) == (
            "call:rejected",
            str(bob.pk),
            None,
            str(bob.pk),
        )
        since = stream_position()
        services.call_reject(user=bob, session_id=device(bob).pk, call_id=call.pk)  # again: nothing to stop
        assert stream_after(since) == []
        assert services.call_join(user=bob, session_id=device(bob).pk, call_id=call.pk).state == "active"
        assert CallInvitee.objects.get(call=call, user=bob).state == "accepted"

    def test_a_member_added_after_the_start_may_join(self, alice, bob, carol):
        group = group_chat(alice, [bob])
        call = start(alice, group)
        ChatMember.objects.create(chat=group, user=carol)
        assert services.call_join(user=carol, session_id=device(carol).pk, call_id=call.pk).state == "active"

    def test_a_full_call_refuses_one_more(self, alice, bob, carol, settings):
        settings.CALL_MAX_PARTICIPANTS = 2
        call = start(alice, group_chat(alice, [bob, carol]))
        services.call_join(user=bob, session_id=device(bob).pk, call_id=call.pk)
        for service in (services.call_join, services.call_accept):
            with pytest.raises(ApplicationError) as error:
                service(user=carol, session_id=device(carol).pk, call_id=call.pk)
            assert code_of(error) == "call_full" and error.value.details == {"max_participants": 2}

    def test_leaving_tells_the_others_and_the_last_one_out_completes_it(self, alice, bob, carol):
        group = group_chat(alice, [bob, carol])
        call = start(alice, group)
        bob_phone = device(bob)
        services.call_join(user=bob, session_id=bob_phone.pk, call_id=call.pk)
        services.call_join(user=carol, session_id=device(carol).pk, call_id=call.pk)
        since = stream_position()
        left = services.call_leave(user=bob, session_id=bob_phone.pk, call_id=call.pk)
        assert left.state == "active"
        assert {(event.type, event.user_id) for event in stream_after(since)} == {
            ("call:participant_left", str(user.pk)) for user in (alice, bob, carol)
        }
        since = stream_position()
        assert services.call_leave(user=bob, session_id=bob_phone.pk, call_id=call.pk).state == "active"  # not in it
        assert stream_after(since) == []
        services.call_end(user=alice, session_id=device(alice).pk, call_id=call.pk)  # end = leave in a group
        ended = services.call_leave(user=carol, session_id=device(carol, "tablet").pk, call_id=call.pk)
        assert (ended.state, ended.end_reason) == ("ended", "completed")
        assert [event.type for event in stream_after(since)][-2:] == ["message:new", "call:ended"]

    def test_a_rejoining_device_gets_a_new_row_and_a_reattach_changes_nothing(self, alice, bob):
        call = start(alice, group_chat(alice, [bob]))
        phone = device(bob)
        services.call_join(user=bob, session_id=phone.pk, call_id=call.pk)
        services.call_leave(user=bob, session_id=phone.pk, call_id=call.pk)
        services.call_join(user=bob, session_id=phone.pk, call_id=call.pk)
        CallParticipant.objects.filter(call=call, user=bob, left_at__isnull=True).update(
            reconnect_deadline=timezone.now()
        )
        since = stream_position()
        reattached = services.call_join(user=bob, session_id=phone.pk, call_id=call.pk)
        assert stream_after(since) == []
        rows = [(p.user_id, p.left_at is None) for p in reattached.participants.all()]
        assert rows == [(alice.pk, True), (bob.pk, False), (bob.pk, True)]
        assert CallParticipant.objects.get(call=call, user=bob, left_at__isnull=True).reconnect_deadline is None

    def test_the_caller_alone_hanging_up_cancels_it(self, alice, bob):
        call = start(alice, group_chat(alice, [bob]))
        ended = services.call_end(user=alice, session_id=device(alice).pk, call_id=call.pk)
        assert (ended.state, ended.end_reason) == ("ended", "cancelled")
