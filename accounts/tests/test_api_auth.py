"""Register, login, refresh rotation, logout, sessions and WebSocket tickets over REST."""

import threading
from datetime import timedelta

import pytest
from django.db import close_old_connections
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import DeviceSession, User
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from conftest import auth_client_for

pytestmark = pytest.mark.django_db

STRONG = "a-much-better-passphrase-42"


def register(client, **overrides):
    body = {"username": "alice", "password": STRONG, **overrides}
    return client.post("/api/v1/auth/register", body, format="json")


class TestRegister:
    def test_creates_user_and_returns_tokens(self, api_client):
        response = register(api_client, phone="+1 415 555 0123", email="Alice@Example.com", display_name="Alice")
        assert response.status_code == 201, response.json()
        body = response.json()
        assert set(body) == {"user", "session_id", "access", "refresh"}
        assert body["user"]["username"] == "alice"
        assert body["user"]["phone"] == "+14155550123"
        assert body["user"]["email"] == "alice@example.com"
        user = User.objects.get(username="alice")
        assert user.password.startswith("argon2")
        assert str(user.id) == body["user"]["id"]
        me = APIClient()
        me.credentials(HTTP_AUTHORIZATION=f"Bearer {body['access']}")
        assert me.get("/api/v1/users/me").json()["id"] == body["user"]["id"]

    @pytest.mark.parametrize(
        ("field", "first", "second", "code"),
        [
            ("username", "alice", "ALICE", "username_taken"),
            ("phone", "+14155550123", "+1 (415) 555-0123", "phone_taken"),
            ("email", "a@example.com", "A@EXAMPLE.COM", "email_taken"),
        ],
    )
    def test_duplicates_get_400_with_code(self, api_client, field, first, second, code):
        base = {"username": "first"} if field != "username" else {}
        assert register(api_client, **base, **{field: first}).status_code == 201
        again = {"username": "second"} if field != "username" else {}
        response = register(api_client, **again, **{field: second})
        assert response.status_code == 400
        assert response.json()["code"] == code
        assert response.json()["details"] == {"field": field}

    def test_weak_password_rejected_by_django_validators(self, api_client):
        response = register(api_client, password="password")
        assert response.status_code == 400
        body = response.json()
        assert body["code"] == "password_invalid"
        assert body["details"]["password"]
        assert not User.objects.exists()

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"password": STRONG}, "username"),
            ({"username": "alice"}, "password"),
            ({"username": "a b", "password": STRONG}, "username"),
            ({"username": "alice", "password": STRONG, "phone": "12"}, "phone"),
            ({"username": "alice", "password": STRONG, "email": "nope"}, "email"),
        ],
    )
    def test_bad_fields_get_validation_error(self, api_client, body, field):
        response = api_client.post("/api/v1/auth/register", body, format="json")
        assert response.status_code == 400
        assert response.json()["code"] == "validation_error"
        assert field in response.json()["details"]

    def test_malformed_json_is_parse_error(self, api_client):
        response = api_client.post("/api/v1/auth/register", "{not json", content_type="application/json")
        assert response.status_code == 400
        assert response.json()["code"] == "parse_error"


class TestLogin:
    @pytest.mark.parametrize("identifier", ["bob", "BOB", "+14155550199", "bob@example.com"])
    def test_login_with_any_identifier(self, api_client, identifier):
        UserFactory(username="bob", phone="+14155550199", email="bob@example.com")
        response = api_client.post(
            "/api/v1/auth/login",
            {"identifier": identifier, "password": DEFAULT_PASSWORD, "device_name": "Pixel"},
            format="json",
        )
        assert response.status_code == 200, response.json()
        session = DeviceSession.objects.get(pk=response.json()["session_id"])
        assert session.device_name == "Pixel"

    def test_wrong_password_and_unknown_user_look_the_same(self, api_client):
        UserFactory(username="bob")
        wrong = api_client.post("/api/v1/auth/login", {"identifier": "bob", "password": "nope"}, format="json")
        unknown = api_client.post("/api/v1/auth/login", {"identifier": "nobody", "password": "nope"}, format="json")
        assert wrong.status_code == unknown.status_code == 401
        assert wrong.json() == unknown.json()
        assert wrong.json()["code"] == "invalid_credentials"

    def test_inactive_user_cannot_log_in(self, api_client):
        UserFactory(username="bob", is_active=False)
        response = api_client.post(
            "/api/v1/auth/login", {"identifier": "bob", "password": DEFAULT_PASSWORD}, format="json"
        )
        assert response.status_code == 401

    def test_missing_fields(self, api_client):
        response = api_client.post("/api/v1/auth/login", {}, format="json")
        assert response.status_code == 400
        assert set(response.json()["details"]) == {"identifier", "password"}

    def test_login_is_throttled_with_retry_after(self, api_client):
        for _ in range(10):
            api_client.post("/api/v1/auth/login", {"identifier": "x", "password": "y"}, format="json")
        response = api_client.post("/api/v1/auth/login", {"identifier": "x", "password": "y"}, format="json")
        assert response.status_code == 429
        assert response.json()["code"] == "throttled"
        assert int(response["Retry-After"]) > 0


class TestRefresh:
    def refresh(self, token):
        return APIClient().post("/api/v1/auth/refresh", {"refresh": token}, format="json")

    def test_rotation_returns_new_pair_and_old_one_stops_working(self, user):
        _, _session, pair = auth_client_for(user)
        first = self.refresh(pair.refresh)
        assert first.status_code == 200
        new = first.json()
        assert new["refresh"] != pair.refresh
        assert self.refresh(new["refresh"]).status_code == 200

    def test_reuse_after_grace_revokes_the_session(self, user):
        _, session, pair = auth_client_for(user)
        rotated = self.refresh(pair.refresh).json()
        DeviceSession.objects.filter(pk=session.pk).update(rotated_at=timezone.now() - timedelta(minutes=1))
        reused = self.refresh(pair.refresh)
        assert reused.status_code == 401
        assert reused.json()["code"] == "refresh_token_reused"
        session.refresh_from_db()
        assert session.revoked_at is not None
        # Both the legitimate holder's newest tokens stop working too.
        assert self.refresh(rotated["refresh"]).json()["code"] == "session_revoked"
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {rotated['access']}")
        assert client.get("/api/v1/users/me").json()["code"] == "session_revoked"

    def test_reuse_within_grace_is_superseded_not_revoked(self, user):
        _, session, pair = auth_client_for(user)
        assert self.refresh(pair.refresh).status_code == 200
        again = self.refresh(pair.refresh)
        assert again.status_code == 401
        assert again.json()["code"] == "refresh_token_superseded"
        session.refresh_from_db()
        assert session.revoked_at is None

    def test_garbage_and_access_tokens_are_rejected(self, user):
        _, _, pair = auth_client_for(user)
        assert self.refresh("garbage").json()["code"] == "token_not_valid"
        assert self.refresh(pair.access).json()["code"] == "token_not_valid"
        assert self.refresh("").status_code == 400


@pytest.mark.django_db(transaction=True)
def test_concurrent_refresh_yields_exactly_one_new_pair():
    user = UserFactory()
    _, _session, pair = auth_client_for(user)
    results: list[int] = []
    barrier = threading.Barrier(4)

    def worker():
        barrier.wait()
        try:
            response = APIClient().post("/api/v1/auth/refresh", {"refresh": pair.refresh}, format="json")
            results.append((response.status_code, response.json()))
        finally:
            close_old_connections()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    successes = [body for status, body in results if status == 200]
    assert len(successes) == 1
    assert sorted(body["code"] for status, body in results if status != 200) == ["refresh_token_superseded"] * 3
    # The winner's pair is usable: the race did not end the session.
    assert (
        APIClient().post("/api/v1/auth/refresh", {"refresh": successes[0]["refresh"]}, format="json").status_code == 200
    )


class TestSessions:
    def test_logout_ends_the_session_at_once(self, user):
        client, _session, pair = auth_client_for(user)
        assert client.post("/api/v1/auth/logout").status_code == 204
        response = client.get("/api/v1/users/me")
        assert response.status_code == 401
        assert response.json()["code"] == "session_revoked"
        assert (
            APIClient().post("/api/v1/auth/refresh", {"refresh": pair.refresh}, format="json").json()["code"]
            == "session_revoked"
        )

    def test_list_marks_current_and_hides_other_users(self, user, other_user):
        client, _current, _ = auth_client_for(user, "phone")
        _, _laptop, _ = auth_client_for(user, "laptop")
        auth_client_for(other_user, "theirs")
        body = client.get("/api/v1/auth/sessions").json()
        assert {item["device_name"]: item["current"] for item in body} == {"phone": True, "laptop": False}
        assert {"id", "device_name", "created_at", "last_used_at", "ip_address", "current"} <= set(body[0])

    def test_delete_one_session(self, user):
        client, _, _ = auth_client_for(user, "phone")
        laptop_client, laptop, _ = auth_client_for(user, "laptop")
        assert client.delete(f"/api/v1/auth/sessions/{laptop.id}").status_code == 204
        assert laptop_client.get("/api/v1/users/me").status_code == 401
        assert client.get("/api/v1/users/me").status_code == 200

    def test_cannot_delete_someone_elses_session(self, user, other_user):
        client, _, _ = auth_client_for(user)
        _, theirs, _ = auth_client_for(other_user)
        assert client.delete(f"/api/v1/auth/sessions/{theirs.id}").json()["code"] == "not_found"
        theirs.refresh_from_db()
        assert theirs.revoked_at is None

    def test_unauthenticated_requests(self, api_client):
        assert api_client.get("/api/v1/auth/sessions").json()["code"] == "not_authenticated"
        api_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-jwt")
        response = api_client.get("/api/v1/auth/sessions")
        assert response.status_code == 401
        assert response.json() == {
            "code": "token_not_valid",
            "message": "The access token is invalid or expired.",
            "details": {},
        }

    def test_expired_access_token(self, user, settings):
        from accounts.tokens import AccessToken

        _, session, _ = auth_client_for(user)
        token = AccessToken()
        token["sub"], token["sid"] = str(user.id), str(session.id)
        token.set_exp(lifetime=-timedelta(seconds=settings.JWT_LEEWAY_SECONDS + 1))
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        assert client.get("/api/v1/users/me").json()["code"] == "token_not_valid"


class TestWsTicket:
    def test_issue_ticket(self, user):
        client, _, _ = auth_client_for(user)
        body = client.post("/api/v1/auth/ws-ticket").json()
        assert body["expires_in"] == 30
        assert len(body["ticket"]) >= 32

    def test_ticket_is_single_use(self, user):
        from accounts.services import ws_ticket_consume

        client, session, _ = auth_client_for(user)
        ticket = client.post("/api/v1/auth/ws-ticket").json()["ticket"]
        claims = ws_ticket_consume(ticket)
        assert claims.user_id == str(user.id) and claims.session_id == str(session.id)
        assert ws_ticket_consume(ticket) is None
        assert ws_ticket_consume("made-up") is None

    def test_requires_auth(self, api_client):
        assert api_client.post("/api/v1/auth/ws-ticket").status_code == 401
