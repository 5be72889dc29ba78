"""Hostile tokens over REST: each one is 401 with its documented code, under every algorithm.

The same catalogue (accounts/tests/jwt_forge.py) is refused at the WebSocket handshake in
accounts/tests/test_ws_auth.py.
"""

import time

import pytest
from rest_framework.test import APIClient

from accounts.jwt_keys import keyring
from accounts.services import session_create
from accounts.tests.jwt_forge import (
    CONFIGS,
    assemble,
    decode_part,
    hmac_signed,
    hostile_access_tokens,
    ring_signed,
    tampered,
    victim_sessions,
)
from accounts.tokens import access_token_claims, token_pair_issue

pytestmark = pytest.mark.django_db


def outcome(response) -> tuple[int, str | None, str | None]:
    return response.status_code, response.json().get("code"), response.get("WWW-Authenticate")


@pytest.mark.parametrize("config", CONFIGS, ids=lambda make: make().name)
def test_hostile_access_tokens_are_401_with_their_code(config, settings, user):
    config().apply(settings)
    session, pair, other_session, revoked_session = victim_sessions(user)
    hostile = hostile_access_tokens(session=session, other_session=other_session, revoked_session=revoked_session)
    seen = {}
    for token in hostile:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.token}")
        # A read, and the one way to a WebSocket ticket: neither lets the token through.
        seen[token.name] = (outcome(client.get("/api/v1/users/me")), outcome(client.post("/api/v1/auth/ws-ticket")))
    expected = {token.name: ((401, token.code, 'Bearer realm="api"'),) * 2 for token in hostile}
    assert seen == expected
    # The refusals are about the tokens: the session's own token works.
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {pair.access}")
    assert client.get("/api/v1/users/me").status_code == 200


@pytest.mark.parametrize(
    ("header", "code"),
    [
        ("Bearer", "token_not_valid"),
        ("Bearer a b", "token_not_valid"),
        # Not ours: no credentials.
        ("bearer x.y.z", "not_authenticated"),
        ("Basic dXNlcjpwYXNz", "not_authenticated"),
    ],
)
def test_malformed_authorization_headers(header, code, api_client):
    api_client.credentials(HTTP_AUTHORIZATION=header)
    response = api_client.get("/api/v1/users/me")
    assert (response.status_code, response.json()["code"]) == (401, code)


@pytest.mark.parametrize("config", CONFIGS, ids=lambda make: make().name)
def test_hostile_refresh_tokens_are_401_token_not_valid(config, settings, user):
    config().apply(settings)
    _session, pair, other_session, _ = victim_sessions(user)
    refresh_claims = decode_part(pair.refresh, 1)
    signing = keyring().signing
    now = int(time.time())
    hostile = {
        "access token used as refresh": pair.access,
        "alg none": assemble({"alg": "none"}, refresh_claims),
        "HS256 keyed with the kid": hmac_signed(
            {"alg": "HS256", "kid": signing.kid}, refresh_claims, signing.kid.encode()
        ),
        "tampered sid": tampered(pair.refresh, sid=str(other_session.id)),
        "expired": ring_signed({**refresh_claims, "exp": now - settings.JWT_LEEWAY_SECONDS - 60}),
        "iat in the future": ring_signed({**refresh_claims, "iat": now + 3600}),
        "sid not a uuid": ring_signed({**refresh_claims, "sid": "x"}),
        "jti not a string": ring_signed({**refresh_claims, "jti": ["x"]}),
    }
    seen = {}
    for name, token in hostile.items():
        response = APIClient().post("/api/v1/auth/refresh", {"refresh": token}, format="json")
        seen[name] = (response.status_code, response.json()["code"])
    assert seen == dict.fromkeys(hostile, (401, "token_not_valid"))
    # None of them touched the session: its real refresh token still rotates.
    assert APIClient().post("/api/v1/auth/refresh", {"refresh": pair.refresh}, format="json").status_code == 200


def test_access_token_claims_normalises_the_ids(user):
    session, _ = session_create(user=user)
    claims = access_token_claims(token_pair_issue(session=session).access)
    assert (claims.user_id, claims.session_id) == (str(user.id), str(session.id))
    assert claims.expires_at == decode_part(token_pair_issue(session=session).access, 1)["exp"]
