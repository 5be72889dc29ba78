"""What a real server writes to its log over a session's life never holds a secret or a message.

SECURITY.md promises that tokens (access, refresh, WebSocket tickets), passwords, login codes and
message text are never logged. The server runs here as in production (DEBUG off) but logs at
DEBUG level, with its access log, through registration, logins (one failed), a refresh, a phone
code login, a ticket handshake, messages over the socket and over REST, and a logout; then its
whole output is searched for every secret it was given or gave out.
"""

import json
import re

import pytest

from tests.e2e.clients import PASSWORD, Socket, http, open_connection, register

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = "+14155550123"


async def test_the_log_holds_no_token_code_password_or_message_text(cluster, tmp_path):
    outbox = tmp_path / "sms.jsonl"
    (server,) = cluster.start(
        "a",
        env={
            "DJANGO_DEBUG": "false",
            "LOG_LEVEL": "DEBUG",
            "SMS_BACKEND": "tests.e2e.sms.FileSMSBackend",
            "E2E_SMS_OUTBOX": str(outbox),
        },
    )
    base = server.http_url
    secrets: list[str] = [PASSWORD]

    alice = register(server, "alice")
    bob = register(server, "bob")
    secrets += [alice.access, bob.access]
    status, login = http(
        "POST", f"{base}/api/v1/auth/login", body={"identifier": alice.user["username"], "password": PASSWORD}
    )
    assert status == 200
    wrong_password = "Not-The-Password-917"
    status, _ = http(
        "POST", f"{base}/api/v1/auth/login", body={"identifier": alice.user["username"], "password": wrong_password}
    )
    assert status == 401
    status, refreshed = http("POST", f"{base}/api/v1/auth/refresh", body={"refresh": login["refresh"]})
    assert status == 200
    secrets += [wrong_password, login["access"], login["refresh"], refreshed["access"], refreshed["refresh"]]

    assert http("POST", f"{base}/api/v1/auth/otp/request", body={"phone": PHONE})[0] == 202
    (sms,) = [json.loads(line) for line in outbox.read_text().splitlines()]
    code = re.search(r"\b\d{6}\b", sms["text"]).group()
    status, by_phone = http("POST", f"{base}/api/v1/auth/otp/verify", body={"phone": PHONE, "code": code})
    assert status == 201
    secrets += [code, by_phone["access"], by_phone["refresh"]]

    status, chat = http("POST", f"{base}/api/v1/chats/direct", token=alice.access, body={"user_id": bob.id})
    assert status == 201
    status, ticket = http("POST", f"{base}/api/v1/auth/ws-ticket", token=alice.access)
    assert status in (200, 201)
    secrets.append(ticket["ticket"])
    connection = await open_connection(f"{server.ws_url}?ticket={ticket['ticket']}", access=None, origin=server.origin)
    socket = Socket(connection, json.loads(await connection.recv()))
    try:
        socket_text = "over the socket: the eagle lands at dawn"
        ack = await socket.request("message:send", {"chat_id": chat["id"], "client_id": "s1", "text": socket_text})
        assert ack["type"] == "ack"
        rest_text = "over REST: the vault code is behind the painting"
        status, _ = http(
            "POST",
            f"{base}/api/v1/chats/{chat['id']}/messages",
            token=bob.access,
            body={"client_id": "r1", "text": rest_text},
        )
        assert status == 201
        secrets += [socket_text, rest_text]
    finally:
        await socket.close()
    assert http("POST", f"{base}/api/v1/auth/logout", token=alice.access)[0] == 204

    log = server.log_text()
    assert '"POST /api/v1/auth/login" 401' in log  # the access log was captured, failures included
    assert "DEBUG" in log  # and the debug-level records
    for secret in secrets:
        # A JWT's claims and signature, each on its own too (its header is the same for every token).
        pieces = [secret, *secret.split(".")[1:]] if secret.count(".") == 2 else [secret]
        for piece in pieces:
            assert piece not in log, f"the server's log holds {piece[:12]}…"
