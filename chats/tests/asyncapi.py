"""The WebSocket contract, docs/asyncapi.yaml, as validators for tests.

chats.tests.ws.Client.receive passes every frame it receives to `validate_server_frame`, so every
WebSocket test also checks that what the server sent is documented, whole: an undocumented
`type`, a missing or extra field, or a wrong type fails the test.
"""

import datetime
import functools
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

DOCUMENT_PATH = Path(__file__).resolve().parents[2] / "docs" / "asyncapi.yaml"
# The document is one JSON Schema resource under this URI, so `#/components/...` refs resolve.
DOCUMENT_URI = "urn:messenger:asyncapi"
CHANNEL = "socket"

# Only the formats the document uses, checked strictly; jsonschema's own date-time check
# depends on an optional package.
FORMATS = FormatChecker(formats=())
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


@FORMATS.checks("uuid", raises=ValueError)
def _is_uuid(value: object) -> bool:
    return not isinstance(value, str) or str(uuid.UUID(value)) == value


@FORMATS.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    return bool(_RFC3339.match(value)) and datetime.datetime.fromisoformat(value).tzinfo is not None


@functools.cache
def document() -> dict[str, Any]:
    with DOCUMENT_PATH.open(encoding="utf-8") as file:
        return yaml.safe_load(file)


def pointer_get(ref: str) -> Any:
    """The node a local `$ref` ("#/a/b") points to; KeyError if it does not exist."""
    if not ref.startswith("#/"):
        raise KeyError(f"only local refs are used in the document: {ref!r}")
    node: Any = document()
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def follow(ref: str) -> tuple[str, Any]:
    """Follow a chain of `$ref`s; returns the final pointer and node."""
    node = pointer_get(ref)
    while isinstance(node, dict) and set(node) == {"$ref"}:
        ref = node["$ref"]
        node = pointer_get(ref)
    return ref, node


@functools.cache
def _registry() -> Registry:
    resource = Resource.from_contents(document(), default_specification=DRAFT202012)
    return Registry().with_resource(DOCUMENT_URI, resource)


def validator_for(ref: str) -> Draft202012Validator:
    """A validator for the schema at `ref` ("#/components/schemas/X"), its refs resolved."""
    return Draft202012Validator({"$ref": DOCUMENT_URI + ref}, registry=_registry(), format_checker=FORMATS)


@dataclass(frozen=True)
class Message:
    key: str  # under channels.socket.messages
    event_type: str  # the `type` const of its payload
    payload_ref: str

    def errors(self, frame: Any) -> str | None:
        """Why `frame` does not match this message's payload, or None if it does."""
        error = best_match(_validator(self.payload_ref).iter_errors(frame))
        return None if error is None else f"{self.key}: {error.message} (at {error.json_path})"


@functools.cache
def _validator(payload_ref: str) -> Draft202012Validator:
    return validator_for(payload_ref)


def message(key: str) -> Message:
    ref, node = follow(f"#/channels/{CHANNEL}/messages/{key}")
    payload = node["payload"]
    payload_ref = payload.get("$ref", f"{ref}/payload")
    event_type = follow(payload_ref)[1]["properties"]["type"]["const"]
    return Message(key=key, event_type=event_type, payload_ref=payload_ref)


def _message_key(ref: str) -> str:
    prefix = f"#/channels/{CHANNEL}/messages/"
    assert ref.startswith(prefix), ref
    return ref[len(prefix) :]


@functools.cache
def client_messages() -> tuple[Message, ...]:
    """Messages of `send` operations: what clients send."""
    operations = document()["operations"].values()
    keys = [_message_key(m["$ref"]) for op in operations if op["action"] == "send" for m in op["messages"]]
    return tuple(message(key) for key in dict.fromkeys(keys))


@functools.cache
def server_messages() -> tuple[Message, ...]:
    """Messages of `receive` operations and of replies: what the server sends."""
    keys = []
    for operation in document()["operations"].values():
        if operation["action"] == "receive":
            keys += [_message_key(m["$ref"]) for m in operation["messages"]]
        keys += [_message_key(m["$ref"]) for m in operation.get("reply", {}).get("messages", [])]
    return tuple(message(key) for key in dict.fromkeys(keys))


def reply_messages(client_event_type: str) -> tuple[Message, ...]:
    """The messages that may answer a client frame of `client_event_type` (its ack, or error)."""
    for operation in document()["operations"].values():
        keys = [_message_key(m["$ref"]) for m in operation["messages"]]
        if operation["action"] == "send" and any(message(key).event_type == client_event_type for key in keys):
            return tuple(message(_message_key(m["$ref"])) for m in operation["reply"]["messages"])
    raise AssertionError(f"no send operation for {client_event_type!r} in {DOCUMENT_PATH.name}")


def _check(frame: Any, candidates: tuple[Message, ...] | list[Message], what: str) -> None:
    failures = []
    for candidate in candidates:
        failure = candidate.errors(frame)
        if failure is None:
            return
        failures.append(failure)
    raise AssertionError(f"{what} does not match {DOCUMENT_PATH.name}: {frame!r}\n  " + "\n  ".join(failures))


def validate_server_frame(frame: Any) -> None:
    """Fail unless `frame` is one of the server messages the document describes."""
    __tracebackhide__ = True
    event_type = frame.get("type") if isinstance(frame, dict) else None
    candidates = [m for m in server_messages() if m.event_type == event_type]
    if not candidates:
        raise AssertionError(f"server frame of undocumented type {event_type!r} ({DOCUMENT_PATH.name}): {frame!r}")
    _check(frame, candidates, "server frame")


def validate_reply(client_event_type: str, frame: Any) -> None:
    """Fail unless `frame` is a documented reply (ack or error) to a `client_event_type` frame."""
    __tracebackhide__ = True
    _check(frame, reply_messages(client_event_type), f"reply to {client_event_type}")
