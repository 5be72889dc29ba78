"""Fixtures of the media tests: a throwaway local storage, and a real S3 endpoint (moto's server)."""

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid

import boto3
import pytest
from botocore.config import Config

from chats.models import Chat, ChatMember, Message

S3_ACCESS_KEY = "media-test-key"
S3_SECRET_KEY = "media-test-secret"
S3_REGION = "us-east-1"


@pytest.fixture(autouse=True)
def local_storage(settings, tmp_path):
    """Every media test writes to its own directory, never to var/media or a configured bucket."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        "staticfiles": settings.STORAGES["staticfiles"],
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    }
    return settings.MEDIA_ROOT


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def s3_endpoint():
    """moto's standalone S3 server on loopback: real HTTP, real signatures on the wire."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1).close()  # noqa: S310 - loopback
            break
        except urllib.error.HTTPError:
            break  # it answers
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail("moto server did not start")
            time.sleep(0.1)
    yield endpoint
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="session")
def s3_client(s3_endpoint):
    return boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        aws_access_key_id=S3_ACCESS_KEY,
        aws_secret_access_key=S3_SECRET_KEY,
        region_name=S3_REGION,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )


@pytest.fixture
def s3_bucket(s3_client) -> str:
    name = f"media-test-{uuid.uuid4().hex[:12]}"
    s3_client.create_bucket(Bucket=name)
    return name


@pytest.fixture
def s3_storage(settings, s3_endpoint, s3_bucket, local_storage) -> str:
    """The default storage as production configures it, pointed at the moto bucket.

    No `signed_urls` storage: download URLs are signed by the default storage, for the endpoint
    it uses itself (settings without S3_PUBLIC_ENDPOINT_URL).
    """
    settings.STORAGES = {**settings.STORAGES, "default": s3_storage_settings(s3_bucket, endpoint_url=s3_endpoint)}
    return s3_bucket


def s3_storage_settings(bucket: str, *, endpoint_url: str) -> dict:
    """A STORAGES entry for the moto bucket over `endpoint_url`, with production's options."""
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "endpoint_url": endpoint_url,
            "region_name": S3_REGION,
            "access_key": S3_ACCESS_KEY,
            "secret_key": S3_SECRET_KEY,
            "default_acl": "private",
            "querystring_auth": True,
            "querystring_expire": 300,
            "file_overwrite": False,
            "addressing_style": "path",
            "signature_version": "s3v4",
        },
    }


def share_in_chat(attachment, *, sender, members) -> Message:
    """Put `attachment` on a message in a new group chat of `members` (ORM only, no chats services)."""
    chat = Chat.objects.create(type=Chat.Type.GROUP, title="media test", created_by=sender)
    for member in {sender, *members}:
        ChatMember.objects.create(chat=chat, user=member)
    message = Message.objects.create(chat=chat, seq=1, sender=sender, client_id=uuid.uuid4().hex)
    message.attachments.add(attachment)
    return message
