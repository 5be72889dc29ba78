"""Tokens against real server processes: revocation closes sockets on every process within a
second, a socket outlives its access token, and an EdDSA server publishes keys that verify its
tokens offline while it refuses forged ones."""

import asyncio
import time
import uuid
from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from websockets.exceptions import ConnectionClosed, InvalidStatus

from accounts.tests.jwt_forge import (
    SECRET_A,
    JwtConfig,
    access_claims,
    assemble,
    ed25519_private_pem,
    hmac_signed,
    public_pem,
    rsa_private_pem,
)
from accounts.tokens import AccessToken
from tests.e2e.clients import PASSWORD, Account, Socket, http, http_async, open_connection, register

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
REVOCATION_CLOSE_SECONDS = 1.0


def login(server, account: Account, device_name: str) -> tuple[Account, dict]:
    """A second device session of the same user, through POST /api/v1/auth/login."""
    status, body = http(
        "POST",
        f"{server.http_url}/api/v1/auth/login",
        body={"identifier": account.user["username"], "password": PASSWORD, "device_name": device_name},
    )
    assert status == 200, body
    return Account(user=body["user"], access=body["access"], session_id=body["session_id"]), body


async def close_code_within(socket: Socket, seconds: float) -> int:
    """The close code the server sends within `seconds` (frames before it are skipped)."""
    deadline = time.monotonic() + seconds
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(socket.connection.recv(), max(deadline - time.monotonic(), 0.001))
    assert closed.value.rcvd is not None, "the connection dropped without a close frame"
    return closed.value.rcvd.code


async def handshake_refused(server, token: str) -> bool:
    try:
        connection = await open_connection(server.ws_url, access=token)
    except InvalidStatus as refused:
        return refused.response.status_code == 403
    await connection.close()
    return False


async def test_revoking_a_session_closes_its_sockets_on_every_process_within_a_second(cluster, connect):
    server_a, server_b = cluster.start("a", "b")
    phone = register(server_a, "alice")
    laptop, _ = login(server_b, phone, "laptop")
    phone_on_a = await connect(server_a, phone)
    phone_on_b = await connect(server_b, phone)
    laptop_on_a = await connect(server_a, laptop)

    # From the laptop, on the other process: end the phone's session.
    status, _ = await http_async(
        "DELETE", f"{server_b.http_url}/api/v1/auth/sessions/{phone.session_id}", token=laptop.access
    )
    assert status == 204
    assert await close_code_within(phone_on_a, REVOCATION_CLOSE_SECONDS) == 4401
    assert await close_code_within(phone_on_b, REVOCATION_CLOSE_SECONDS) == 4401
    await laptop_on_a.ping()
    assert await handshake_refused(server_a, phone.access)
    assert http("GET", f"{server_a.http_url}/api/v1/users/me", token=phone.access)[1]["code"] == "session_revoked"
    # HS256 (the default) publishes no key.
    assert http("GET", f"{server_a.http_url}/.well-known/jwks.json") == (200, {"keys": []})


async def test_a_socket_outlives_its_access_token(cluster, connect, settings):
    JwtConfig("hs", "HS256", SECRET_A).apply(settings)  # this process mints with the servers' key
    (server,) = cluster.start("a", env={"JWT_SIGNING_KEY": SECRET_A, "JWT_LEEWAY_SECONDS": "0"})
    alice = register(server, "alice")
    short = AccessToken()
    short["sub"], short["sid"] = alice.id, alice.session_id
    short.set_exp(lifetime=timedelta(seconds=2))
    socket = await connect(server, Account(user=alice.user, access=str(short), session_id=alice.session_id))

    for _ in range(50):  # until the token has expired for the server (it lives two seconds at most)
        status, body = await http_async("GET", f"{server.http_url}/api/v1/users/me", token=str(short))
        if status == 401:
            break
        await asyncio.sleep(0.1)
    assert (status, body["code"]) == (401, "token_not_valid")
    assert await handshake_refused(server, str(short))

    await socket.ping()  # the socket lives on with its session
    assert (await http_async("POST", f"{server.http_url}/api/v1/auth/logout", token=alice.access))[0] == 204
    assert await close_code_within(socket, REVOCATION_CLOSE_SECONDS) == 4401


async def test_an_eddsa_server_publishes_keys_that_verify_its_tokens(cluster, connect, tmp_path):
    signing_file = tmp_path / "jwt-ed25519.pem"
    signing_file.write_text(ed25519_private_pem(0))
    retired_rsa = rsa_private_pem(0)
    (server,) = cluster.start(
        "a",
        env={
            "JWT_ALGORITHM": "EdDSA",
            "JWT_SIGNING_KEY_FILE": str(signing_file),
            # A key being retired, on one line as an environment variable often carries it.
            "JWT_VERIFYING_KEYS": public_pem(retired_rsa).replace("\n", "\\n"),
        },
    )
    alice = register(server, "alice")
    status, jwks = http("GET", f"{server.http_url}/.well-known/jwks.json")
    assert status == 200
    assert [key["alg"] for key in jwks["keys"]] == ["EdDSA", "RS256"]

    # What a gateway does with nothing but the published set.
    header = jwt.get_unverified_header(alice.access)
    assert header["alg"] == "EdDSA" and header["kid"] == jwks["keys"][0]["kid"]
    key = jwt.PyJWKSet.from_dict(jwks)[header["kid"]]
    claims = jwt.decode(alice.access, key.key, algorithms=[key.algorithm_name])
    assert (claims["sub"], claims["sid"], claims["token_type"]) == (alice.id, alice.session_id, "access")
    await (await connect(server, alice)).ping()

    # A token signed with the retired key still works while that key is listed.
    rsa_key = serialization.load_pem_private_key(retired_rsa.encode(), password=None)
    old_token = jwt.encode(
        access_claims(user_id=alice.id, session_id=alice.session_id),
        rsa_key,
        algorithm="RS256",
        headers={"kid": jwks["keys"][1]["kid"]},
    )
    assert http("GET", f"{server.http_url}/api/v1/users/me", token=old_token)[0] == 200

    # Forgeries, through the whole HTTP stack (history pages take a path of their own) and the handshake.
    claims = access_claims(user_id=alice.id, session_id=alice.session_id)
    ed_public_pem = public_pem(ed25519_private_pem(0)).encode()
    forged = {
        "alg none": assemble({"alg": "none", "kid": header["kid"]}, claims),
        "HS256 keyed with the public key": hmac_signed({"alg": "HS256", "kid": header["kid"]}, claims, ed_public_pem),
        "HS256 keyed with the JWK": hmac_signed({"alg": "HS256"}, claims, str(jwks["keys"][0]).encode()),
    }
    history = f"{server.http_url}/api/v1/chats/{uuid.uuid4()}/messages"
    seen = {}
    for name, token in forged.items():
        me = http("GET", f"{server.http_url}/api/v1/users/me", token=token)
        page = http("GET", history, token=token)
        seen[name] = (me[0], me[1]["code"], page[0], page[1]["code"], await handshake_refused(server, token))
    assert seen == dict.fromkeys(forged, (401, "token_not_valid", 401, "token_not_valid", True))
