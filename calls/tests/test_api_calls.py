"""The calls REST endpoints (DRF's APIClient): history, start and end over HTTP, ICE servers."""

import base64
import hashlib
import hmac
import time
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from calls import services
from calls.models import Call
from calls.tests.factories import device, start, stream_after
from chats.selectors import stream_position
from chats.services import chat_member_remove
from chats.tests.factories import direct_chat, group_chat
from conftest import auth_client_for

pytestmark = pytest.mark.django_db


def history(client, **query) -> list[dict]:
    response = client.get("/api/v1/calls", query)
    assert response.status_code == 200, response.json()
    return response.json()["results"]


class TestHistory:
    def test_each_side_sees_direction_reason_and_duration(self, alice, bob, carol):
        chat = direct_chat(alice, bob)
        answered = start(alice, chat, kind="video")
        services.call_accept(user=bob, session_id=device(bob).pk, call_id=answered.pk)
        Call.objects.filter(pk=answered.pk).update(answered_at=timezone.now() - timedelta(seconds=42))
        services.call_end(user=alice, session_id=device(alice).pk, call_id=answered.pk)
        missed = start(bob, chat)
        services.call_deadlines_fire(now=missed.ring_deadline)
        group_call = start(carol, group_chat(carol, [alice, bob], title="Team"))

        alice_client, _, _ = auth_client_for(alice)
        first, second, third = history(alice_client)  # newest first
        assert (first["id"], first["chat_type"], first["direction"], first["state"]) == (
            str(group_call.pk),
            "group",
            "incoming",
            "ringing",
        )
        assert first["peer"] is None and first["chat"]["title"] == "Team" and first["missed"] is False
        assert (second["id"], second["direction"], second["end_reason"], second["missed"]) == (
            str(missed.pk),
            "incoming",
            "missed",
            True,
        )
        assert second["peer"]["id"] == str(bob.pk) and second["chat"] is None
        assert (third["direction"], third["kind"], third["end_reason"], third["duration_seconds"]) == (
            "outgoing",
            "video",
            "completed",
            42,
        )
        assert [p["user_id"] for p in third["participants"]] == [str(alice.pk), str(bob.pk)]

        bob_client, _, _ = auth_client_for(bob)
        bob_view = {entry["id"]: entry for entry in history(bob_client)}
        assert (bob_view[str(answered.pk)]["direction"], bob_view[str(answered.pk)]["peer"]["id"]) == (
            "incoming",
            str(alice.pk),
        )
        assert (bob_view[str(missed.pk)]["direction"], bob_view[str(missed.pk)]["missed"]) == ("outgoing", False)

    def test_filters_and_pages(self, alice, bob, carol):
        chat = direct_chat(alice, bob)
        other = direct_chat(alice, carol)
        missed = start(bob, chat)
        services.call_end(user=bob, session_id=device(bob).pk, call_id=missed.pk)  # cancelled: missed by alice
        declined = start(bob, chat)
        services.call_reject(user=alice, session_id=device(alice).pk, call_id=declined.pk)
        elsewhere = start(alice, other)
        client, _, _ = auth_client_for(alice)
        assert [entry["id"] for entry in history(client, missed="true")] == [str(missed.pk)]
        assert {entry["id"] for entry in history(client, missed="false")} == {str(declined.pk), str(elsewhere.pk)}
        assert [entry["id"] for entry in history(client, chat_id=str(other.pk))] == [str(elsewhere.pk)]
        page = client.get("/api/v1/calls", {"limit": 2}).json()
        assert [entry["id"] for entry in page["results"]] == [str(elsewhere.pk), str(declined.pk)]
        rest = client.get(page["next"]).json()
        assert [entry["id"] for entry in rest["results"]] == [str(missed.pk)] and rest["next"] is None
        assert client.get("/api/v1/calls", {"chat_id": "nope"}).json()["code"] == "validation_error"

    def test_a_call_is_visible_to_its_chat_and_participants_only(self, alice, bob, carol):
        call = start(alice, direct_chat(alice, bob))
        for user, status in ((alice, 200), (bob, 200), (carol, 404)):
            client, _, _ = auth_client_for(user)
            response = client.get(f"/api/v1/calls/{call.pk}")
            assert response.status_code == status, (user, response.json())
        outsider, _, _ = auth_client_for(carol)
        assert outsider.get(f"/api/v1/calls/{uuid.uuid4()}").json()["code"] == "not_found"
        assert history(outsider) == []
        assert outsider.post(f"/api/v1/calls/{call.pk}/end").status_code == 404

    def test_a_participant_who_left_the_group_still_sees_the_call(self, alice, bob):
        group = group_chat(alice, [bob])
        call = start(alice, group)
        services.call_join(user=bob, session_id=device(bob).pk, call_id=call.pk)
        chat_member_remove(chat=group, actor=bob, user_id=bob.pk)
        client, _, _ = auth_client_for(bob)
        assert client.get(f"/api/v1/calls/{call.pk}").status_code == 200


class TestStartAndEnd:
    def test_post_rings_through_the_same_events_and_end_hangs_up(self, alice, bob):
        chat = direct_chat(alice, bob)
        client, session, _ = auth_client_for(alice)
        since = stream_position()
        response = client.post("/api/v1/calls", {"chat_id": str(chat.pk), "kind": "audio"}, format="json")
        assert response.status_code == 201, response.json()
        call = response.json()
        assert (call["state"], call["direction"]) == ("ringing", "outgoing")
        assert call["initiator_session_id"] == str(session.pk)
        (incoming,) = stream_after(since)
        assert incoming.type == "call:incoming" and incoming.data["call"]["id"] == call["id"]
        ended = client.post(f"/api/v1/calls/{call['id']}/end", {}, format="json")
        assert ended.status_code == 200 and ended.json()["end_reason"] == "cancelled"
        again = client.post(f"/api/v1/calls/{call['id']}/end", {"reason": "failed"}, format="json")
        assert again.status_code == 200 and again.json()["end_reason"] == "cancelled"

    def test_errors_have_their_codes(self, alice, bob):
        chat = direct_chat(alice, bob)
        client, _, _ = auth_client_for(alice)
        bad = client.post("/api/v1/calls", {"chat_id": str(chat.pk), "kind": "hologram"}, format="json")
        assert (bad.status_code, bad.json()["code"]) == (400, "validation_error")
        missing = client.post("/api/v1/calls", {"chat_id": str(uuid.uuid4()), "kind": "audio"}, format="json")
        assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
        first = client.post("/api/v1/calls", {"chat_id": str(chat.pk), "kind": "audio"}, format="json").json()
        busy = client.post("/api/v1/calls", {"chat_id": str(chat.pk), "kind": "audio"}, format="json")
        assert (busy.status_code, busy.json()["code"], busy.json()["details"]) == (
            409,
            "call_in_progress",
            {"call_id": first["id"]},
        )
        wrong = client.post(f"/api/v1/calls/{first['id']}/end", {"reason": "because"}, format="json")
        assert wrong.json()["code"] == "validation_error"

    def test_anonymous_requests_are_refused(self, api_client):
        for method, path in (("get", "/api/v1/calls"), ("post", "/api/v1/calls"), ("get", "/api/v1/calls/ice-servers")):
            assert getattr(api_client, method)(path).status_code == 401


class TestIceServers:
    def test_turn_credentials_in_coturns_rest_scheme(self, alice, settings):
        settings.STUN_URLS = ["stun:turn.example.com:3478"]
        settings.TURN_URLS = ["turn:turn.example.com:3478?transport=udp", "turns:turn.example.com:5349"]
        settings.TURN_SHARED_SECRET = "north-wind"
        settings.TURN_CREDENTIAL_TTL_SECONDS = 600
        client, _, _ = auth_client_for(alice)
        before = int(time.time())
        body = client.get("/api/v1/calls/ice-servers").json()
        stun, turn = body["ice_servers"]
        assert stun == {"urls": ["stun:turn.example.com:3478"]} and body["ttl_seconds"] == 600
        assert turn["urls"] == settings.TURN_URLS
        expiry, user_id = turn["username"].split(":")
        assert user_id == str(alice.pk) and before + 600 <= int(expiry) <= int(time.time()) + 600
        digest = hmac.new(b"north-wind", turn["username"].encode(), hashlib.sha1).digest()
        assert turn["credential"] == base64.b64encode(digest).decode()

    def test_without_a_secret_only_stun_is_offered(self, alice, settings):
        settings.STUN_URLS = ["stun:stun.example.com:3478"]
        settings.TURN_URLS = ["turn:turn.example.com:3478"]
        settings.TURN_SHARED_SECRET = ""
        client, _, _ = auth_client_for(alice)
        assert client.get("/api/v1/calls/ice-servers").json()["ice_servers"] == [{"urls": settings.STUN_URLS}]
        settings.STUN_URLS = []
        assert client.get("/api/v1/calls/ice-servers").json() == {"ice_servers": [], "ttl_seconds": 86400}
