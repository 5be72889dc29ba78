"""Hostile request shapes get the API's documented errors on every endpoint, never a 500.

The endpoints come from the OpenAPI schema, so a new one is covered without being listed here;
each is called on objects the caller may act on, so that the view really reads its input.
"""

import logging
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from drf_spectacular.generators import SchemaGenerator

from accounts.models import Contact
from calls.services.calls import call_start
from chats.services.folders import folder_create
from chats.services.invites import invite_create
from chats.tests.factories import group_chat, send
from conftest import auth_client_for
from media.tests.factories import AttachmentFactory

pytestmark = pytest.mark.django_db

NUL = "Null characters are not allowed."


def _operations() -> list[tuple[str, str, dict]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return [
        (method.upper(), path, operation)
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
    ]


OPERATIONS = _operations()
BODY_OPERATIONS = [(method, path) for method, path, operation in OPERATIONS if "requestBody" in operation]


@dataclass
class World:
    """Objects the caller owns or shares, one per kind of path parameter."""

    client: object
    ids: dict[str, str]

    def url(self, path: str) -> str:
        return path.format(**self.ids)


@pytest.fixture
def world(user, other_user) -> World:
    client, session, _ = auth_client_for(user)
    chat = group_chat(user, [other_user])
    contact = Contact.objects.create(owner=user, contact=other_user)
    ids = {
        "chat_id": str(chat.pk),
        "user_id": str(other_user.pk),
        "message_id": str(send(user, chat).pk),
        "session_id": str(session.pk),
        "contact_id": str(contact.pk),
        "attachment_id": str(AttachmentFactory(uploader=user).pk),
        "folder_id": str(folder_create(owner=user, name="Work", chat_ids=[chat.pk]).pk),
        "code": invite_create(chat=chat, actor=user).code,
        "emoji": "👍",
        "call_id": str(call_start(user=user, session_id=session.pk, chat_id=chat.pk, kind="audio").pk),
    }
    return World(client=client, ids=ids)


def call(world: World, method: str, path: str, **kwargs):
    return getattr(world.client, method.lower())(world.url(path), **kwargs)


def test_the_schema_has_body_operations():
    assert len(BODY_OPERATIONS) >= 15  # the generator found the API (a broken one would test nothing)


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS, ids=[f"{m} {p}" for m, p, _ in OPERATIONS])
def test_the_schema_lists_the_request_errors(method, path, operation):
    responses = operation["responses"]
    assert "validation_error" in responses["400"]["description"]
    if "requestBody" in operation:
        for code in ("parse_error", "too_many_fields", "too_many_files"):
            assert code in responses["400"]["description"]
        assert "request_too_large" in responses["413"]["description"]


@pytest.mark.parametrize(("method", "path"), BODY_OPERATIONS)
def test_more_than_a_thousand_form_fields(world, method, path):
    fields = {f"x{i}": "" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)}
    response = call(world, method, path, data=encode_multipart(BOUNDARY, fields), content_type=MULTIPART_CONTENT)
    assert response.status_code == 400, response.content
    assert response.json() == {
        "code": "too_many_fields",
        "message": "The request has more than 1000 fields.",
        "details": {"max_fields": 1000},
    }


@pytest.mark.parametrize(("method", "path"), BODY_OPERATIONS)
def test_a_nul_anywhere_in_a_body(world, method, path):
    if path == "/api/v1/media":  # multipart only: a NUL in a form field
        body = encode_multipart(BOUNDARY, {"file": SimpleUploadedFile("a.pdf", b"%PDF-1.4"), "note": "a\x00"})
        response = call(world, method, path, data=body, content_type=MULTIPART_CONTENT)
        assert response.status_code == 400, response.content
        assert response.json()["details"] == {"note": [NUL]}
        return
    body = {"nested": {"deep": ["ok", "b\x00d"]}, "plain": "fine"}
    response = call(world, method, path, data=body, format="json")
    assert response.status_code == 400, response.content
    assert response.json() == {
        "code": "validation_error",
        "message": "The request is invalid.",
        "details": {"nested": [NUL]},
    }


@pytest.mark.parametrize(("method", "path"), [(method, path) for method, path, _ in OPERATIONS])
def test_a_nul_in_a_query_parameter(world, method, path):
    response = call(world, method, path + "?q=a%00&limit=5")
    assert response.status_code == 400, response.content
    assert response.json() == {
        "code": "validation_error",
        "message": "The request is invalid.",
        "details": {"q": [NUL]},
    }


def test_a_nul_in_a_query_parameter_of_a_page():
    response = Client().get("/admin/login/?next=%00")
    assert response.status_code == 400
    assert response.content == NUL.encode()


def test_search_with_a_nul_is_refused_not_crashed(auth_client):
    # The defect as reported: PostgreSQL refuses NUL in text, and the search answered 500.
    response = auth_client.get("/api/v1/users/search", {"q": "a\x00"})
    assert response.status_code == 400
    assert response.json()["details"] == {"q": [NUL]}


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
@pytest.mark.parametrize("path", ["/api/v1/nope", "/api/v1/chats/not-a-uuid", "/api/"])
def test_an_unknown_api_path_is_a_json_404_for_every_method(method, path):
    response = getattr(Client(enforce_csrf_checks=True), method)(path)  # as a browser would, CSRF enforced
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "message": "Not found.", "details": {}}


def test_too_many_files(auth_client):
    files = {f"f{i}": SimpleUploadedFile(f"{i}.txt", b"x") for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FILES + 1)}
    response = auth_client.post("/api/v1/auth/login", encode_multipart(BOUNDARY, files), content_type=MULTIPART_CONTENT)
    assert response.status_code == 400
    assert response.json() == {
        "code": "too_many_files",
        "message": "The request has more than 100 files.",
        "details": {"max_files": 100},
    }


def test_form_data_over_the_memory_limit(auth_client):
    field = {"identifier": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)}
    response = auth_client.post("/api/v1/auth/login", encode_multipart(BOUNDARY, field), content_type=MULTIPART_CONTENT)
    assert response.status_code == 413
    assert response.json() == {
        "code": "request_too_large",
        "message": "The request's form data is larger than 2621440 bytes.",
        "details": {"max_bytes": 2621440},
    }


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("multipart/form-data", b"--xyz--"),  # no boundary
        ("multipart/form-data; boundary=xyz", b"--xyz\r\nContent-Disposition: form-data\r\n\r\nvalue\r\n--xyz--"),
        ("multipart/form-data; boundary=" + "x" * 80, b"--x--"),  # longer than RFC 2046 allows
        ("application/json", b'{"identifier": '),
    ],
    ids=["no-boundary", "part-without-name", "long-boundary", "truncated-json"],
)
def test_a_malformed_body_gets_a_json_error_and_is_logged(api_client, caplog, content_type, body):
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = api_client.generic("POST", "/api/v1/auth/login", body, content_type=content_type)
    assert response.status_code == 400, response.content
    assert response.json()["code"] in {"parse_error", "validation_error"}
    assert "Bad Request: /api/v1/auth/login" in caplog.text


def test_a_disallowed_host_under_the_api_is_json(api_client):
    response = api_client.get("/api/v1/auth/sessions", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert response.json() == {"code": "bad_request", "message": "The request was refused.", "details": {}}
