"""Request bodies on the real server: bounded where daphne reads them, errors in the API's shape.

The memory test reads the server's peak resident size (VmHWM, reset through
/proc/<pid>/clear_refs) while a 90 MiB body goes in, unauthenticated and as an upload: before
messenger/daphne_limits.py, Twisted's multipart parse and daphne's queueing of the whole body
took one such request from 220 MiB to 1,288 MiB.
"""

import http.client
import json
from pathlib import Path

import pytest
from django.conf import settings

from tests.e2e.clients import HTTP_TIMEOUT, register

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

UPLOAD_BYTES = 90 * 1024 * 1024
# What one request may add to the server's peak resident size: Django spools a body to disk past
# FILE_UPLOAD_MAX_MEMORY_SIZE (2.5 MiB); the rest is chunks in flight and allocator slack.
PEAK_GROWTH_LIMIT_BYTES = 24 * 1024 * 1024


def post(server, path: str, body, *, headers: dict[str, str]) -> tuple[int, dict, dict]:
    """One POST over a fresh connection (no `Expect: 100-continue`: the whole body is sent)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=HTTP_TIMEOUT, blocksize=1 << 20)
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), json.loads(response.read())
    finally:
        connection.close()


def multipart_file(path: Path, *, head: bytes, size: int, boundary: str = "e2e-boundary") -> str:
    """Write a multipart body with one `file` part of `size` bytes starting with `head`; its Content-Type."""
    with path.open("wb") as body:
        body.write(
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.pdf"\r\n'
            "Content-Type: application/pdf\r\n\r\n".encode()
        )
        body.write(head)
        remaining = size - len(head)
        block = b"\0" * (1 << 20)
        while remaining > 0:
            body.write(block[:remaining])
            remaining -= len(block)
        body.write(f"\r\n--{boundary}--\r\n".encode())
    return f"multipart/form-data; boundary={boundary}"


def test_a_malformed_multipart_body_gets_a_json_error_and_is_logged(cluster):
    (server,) = cluster.start("a")
    status, headers, body = post(
        server,
        "/api/v1/auth/login",
        b"--xyz--",
        headers={"Content-Type": "multipart/form-data; boundary=xyz", "Content-Length": "7"},
    )
    assert (status, headers["Content-Type"]) == (400, "application/json")
    assert body == {
        "code": "validation_error",
        "message": "The request is invalid.",
        "details": {"identifier": ["This field is required."], "password": ["This field is required."]},
    }
    status, _, body = post(server, "/api/v1/auth/login", b"x", headers={"Content-Type": "multipart/form-data"})
    assert status == 400
    assert body["code"] == "parse_error"
    assert "Bad Request: /api/v1/auth/login" in server.log_text()


def test_more_than_a_thousand_form_fields_get_a_code(cluster):
    (server,) = cluster.start("a")
    parts = "".join(f'--b\r\nContent-Disposition: form-data; name="x{i}"\r\n\r\n\r\n' for i in range(1001))
    status, _, body = post(
        server,
        "/api/v1/auth/login",
        (parts + "--b--\r\n").encode(),
        headers={"Content-Type": "multipart/form-data; boundary=b"},
    )
    assert status == 400
    assert body == {
        "code": "too_many_fields",
        "message": "The request has more than 1000 fields.",
        "details": {"max_fields": 1000},
    }


def test_a_body_over_the_limit_is_refused_before_it_is_sent(cluster):
    (server,) = cluster.start("a")
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=HTTP_TIMEOUT)
    try:
        connection.putrequest("POST", "/api/v1/auth/login")
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", str(UPLOAD_BYTES))
        connection.endheaders()  # not a byte of the body
        response = connection.getresponse()
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        assert response.status == 413
        assert json.loads(response.read()) == {
            "code": "request_too_large",
            "message": f"The request body is limited to {limit} bytes.",
            "details": {"max_bytes": limit},
        }
    finally:
        connection.close()


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def _peak_growth(pid: int, send) -> tuple[object, int]:
    """(what `send()` returned, how far the server's peak resident size rose above its size before)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # the peak starts again from the current size
    before = _status_kib(pid, "VmRSS")
    result = send()
    return result, _status_kib(pid, "VmHWM") - before


def test_a_large_body_costs_the_server_a_bounded_amount_of_memory(cluster, tmp_path):
    (server,) = cluster.start("a")
    pid = server.process.pid
    account = register(server, "uploader")
    body_path = tmp_path / "body"
    content_type = multipart_file(body_path, head=b"%PDF-1.4\n", size=UPLOAD_BYTES)
    length = str(body_path.stat().st_size)
    small = tmp_path / "small"
    small_type = multipart_file(small, head=b"%PDF-1.4\n", size=1024)
    auth = {"Authorization": f"Bearer {account.access}"}
    with small.open("rb") as warm_up:  # the upload path's code and first allocations
        small_length = str(small.stat().st_size)
        headers = {**auth, "Content-Type": small_type, "Content-Length": small_length}
        status, _, body = post(server, "/api/v1/media", warm_up, headers=headers)
    assert status == 201, body

    def send(path: str, **headers: str):
        with body_path.open("rb") as body:
            return post(server, path, body, headers={"Content-Type": content_type, "Content-Length": length, **headers})

    login, login_growth = _peak_growth(pid, lambda: send("/api/v1/auth/login"))
    anonymous, anonymous_growth = _peak_growth(pid, lambda: send("/api/v1/media"))
    upload, upload_growth = _peak_growth(pid, lambda: send("/api/v1/media", **auth))
    mib = 1024 * 1024
    print(
        f"\n90 MiB bodies, growth of the server's peak RSS: login {login[0]} {login_growth / mib:.1f} MiB, "
        f"anonymous upload {anonymous[0]} {anonymous_growth / mib:.1f} MiB, "
        f"upload {upload[0]} {upload_growth / mib:.1f} MiB"
    )
    assert (login[0], login[2]["code"]) == (413, "request_too_large")
    assert (anonymous[0], anonymous[2]["code"]) == (401, "not_authenticated")
    assert upload[0] == 201, upload[2]
    assert upload[2]["size"] == UPLOAD_BYTES
    assert login_growth < PEAK_GROWTH_LIMIT_BYTES
    assert anonymous_growth < PEAK_GROWTH_LIMIT_BYTES
    assert upload_growth < PEAK_GROWTH_LIMIT_BYTES


def test_a_chunked_upload_arrives_whole(cluster, tmp_path):
    (server,) = cluster.start("a")
    account = register(server, "uploader")
    body_path = tmp_path / "body"
    content_type = multipart_file(body_path, head=b"%PDF-1.4\n", size=300_000)
    with body_path.open("rb") as body:  # http.client sends a file without a given length chunked
        status, _, answer = post(
            server,
            "/api/v1/media",
            body,
            headers={"Authorization": f"Bearer {account.access}", "Content-Type": content_type},
        )
    assert status == 201, answer
    assert answer["size"] == 300_000


def test_the_upload_limit_still_applies_to_uploads(cluster, tmp_path):
    # The endpoint's own limit lets the body through the server; the media app refuses it.
    (server,) = cluster.start("a", env={"MEDIA_MAX_FILE_BYTES": str(1024 * 1024)})
    account = register(server, "uploader")
    body_path = tmp_path / "body"
    content_type = multipart_file(body_path, head=b"%PDF-1.4\n", size=3 * 1024 * 1024)
    length = str(body_path.stat().st_size)
    with body_path.open("rb") as body:
        status, _, answer = post(
            server,
            "/api/v1/media",
            body,
            headers={
                "Authorization": f"Bearer {account.access}",
                "Content-Type": content_type,
                "Content-Length": length,
            },
        )
    assert status == 413
    assert answer["code"] == "file_too_large"
