"""Phone login with one-time codes."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import PhoneOTP, User
from accounts.sms import MemorySMSBackend
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PHONE = "+14155550123"


@pytest.fixture(autouse=True)
def sms_outbox(settings):
    settings.SMS_BACKEND = "accounts.sms.MemorySMSBackend"
    MemorySMSBackend.outbox.clear()
    return MemorySMSBackend.outbox


_capture = None


@pytest.fixture(autouse=True)
def _send_sms_on_commit(django_capture_on_commit_callbacks):
    # SMS goes out after commit; the test transaction never commits, so run the callbacks.
    global _capture
    _capture = django_capture_on_commit_callbacks
    yield
    _capture = None


def request_code(client, phone=PHONE, **extra):
    with _capture(execute=True):
        return client.post("/api/v1/auth/otp/request", {"phone": phone}, format="json", **extra)


def sent_code(outbox) -> str:
    _phone, text = outbox[-1]
    return re.search(r"\b(\d{6})\b", text).group(1)


def verify(client, code, phone=PHONE, **extra):
    return client.post(
        "/api/v1/auth/otp/verify", {"phone": phone, "code": code, "device_name": "iPhone"}, format="json", **extra
    )


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def test_first_verify_creates_account_then_logs_in(api_client, sms_outbox):
    response = request_code(api_client, phone="+1 (415) 555-0123")
    assert response.status_code == 202
    assert response.json() == {"expires_in": 300, "resend_after": 60}
    assert sms_outbox[-1][0] == PHONE
    created = verify(api_client, sent_code(sms_outbox))
    assert created.status_code == 201
    assert created.json()["user"]["phone"] == PHONE
    assert User.objects.filter(phone=PHONE).count() == 1

    PhoneOTP.objects.update(created_at=timezone.now() - timedelta(minutes=2))
    request_code(api_client)
    again = verify(api_client, sent_code(sms_outbox))
    assert again.status_code == 200
    assert again.json()["user"]["id"] == created.json()["user"]["id"]


def test_existing_password_user_can_log_in_by_phone(api_client, sms_outbox):
    user = UserFactory(phone=PHONE)
    request_code(api_client)
    response = verify(api_client, sent_code(sms_outbox))
    assert response.status_code == 200
    assert response.json()["user"]["id"] == str(user.id)


def test_code_is_hashed_at_rest(api_client, sms_outbox):
    request_code(api_client)
    code = sent_code(sms_outbox)
    otp = PhoneOTP.objects.get()
    assert code not in otp.code_hash
    assert len(otp.code_hash) == 64


def test_code_is_single_use(api_client, sms_outbox):
    request_code(api_client)
    code = sent_code(sms_outbox)
    assert verify(api_client, code).status_code == 201
    reused = verify(api_client, code)
    assert reused.status_code == 400
    assert reused.json()["code"] == "otp_invalid"


def test_code_expires(api_client, sms_outbox):
    request_code(api_client)
    PhoneOTP.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = verify(api_client, sent_code(sms_outbox))
    assert response.status_code == 400
    assert response.json()["code"] == "otp_expired"


def test_three_wrong_attempts_burn_the_code(api_client, sms_outbox):
    request_code(api_client)
    code = sent_code(sms_outbox)
    first = verify(api_client, wrong(code))
    assert first.json() == {"code": "otp_invalid", "message": "The code is wrong.", "details": {"attempts_left": 2}}
    assert verify(api_client, wrong(code)).json()["details"] == {"attempts_left": 1}
    assert verify(api_client, wrong(code)).json()["code"] == "otp_attempts_exceeded"
    # Even the right code is refused now.
    final = verify(api_client, code)
    assert final.json()["code"] == "otp_attempts_exceeded"
    assert not User.objects.filter(phone=PHONE).exists()


def test_new_code_replaces_the_old_one(api_client, sms_outbox):
    request_code(api_client)
    old = sent_code(sms_outbox)
    PhoneOTP.objects.update(created_at=timezone.now() - timedelta(minutes=2))
    request_code(api_client)
    new = sent_code(sms_outbox)
    if old != new:
        assert verify(api_client, old).json()["code"] == "otp_invalid"
    assert verify(api_client, new).status_code == 201


def test_resend_cooldown(api_client, sms_outbox):
    assert request_code(api_client).status_code == 202
    response = request_code(api_client)
    assert response.status_code == 429
    assert response.json()["code"] == "otp_cooldown"
    assert 0 < int(response["Retry-After"]) <= 60
    assert len(sms_outbox) == 1


def test_per_phone_throttle_across_ips(api_client, sms_outbox):
    for index in range(5):
        PhoneOTP.objects.update(created_at=timezone.now() - timedelta(minutes=2))
        assert request_code(api_client, REMOTE_ADDR=f"10.0.0.{index}").status_code == 202
    PhoneOTP.objects.update(created_at=timezone.now() - timedelta(minutes=2))
    response = request_code(api_client, REMOTE_ADDR="10.0.0.99")
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert "Retry-After" in response


def test_per_ip_throttle_across_phones(api_client):
    for index in range(10):
        assert request_code(api_client, phone=f"+1415555{index:04d}").status_code == 202
    response = request_code(api_client, phone="+14155559999")
    assert response.status_code == 429


@pytest.mark.parametrize("body", [{}, {"phone": "12345"}, {"phone": "not a phone"}])
def test_invalid_phone(api_client, body):
    response = api_client.post("/api/v1/auth/otp/request", body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert "phone" in response.json()["details"]


@pytest.mark.parametrize("code", ["12345", "abcdef", "1234567", ""])
def test_malformed_code(api_client, code):
    response = verify(api_client, code)
    assert response.status_code == 400
    assert "code" in response.json()["details"]


def test_verify_without_request(api_client):
    assert verify(api_client, "123456").json()["code"] == "otp_invalid"


@pytest.mark.parametrize("debug", [True, False], ids=["debug", "production"])
def test_console_backend_logs_one_line(settings, api_client, caplog, debug):
    settings.SMS_BACKEND = "accounts.sms.ConsoleSMSBackend"
    settings.DEBUG = debug  # the code is logged only with DEBUG on (SECURITY.md)
    with caplog.at_level("INFO", logger="accounts.sms"):
        request_code(api_client)
    lines = [record.getMessage() for record in caplog.records if record.name == "accounts.sms"]
    assert len(lines) == 1
    assert PHONE in lines[0]
    if debug:
        assert re.search(r"\d{6}", lines[0])
    else:
        assert lines == [f"SMS to {PHONE} not delivered: SMS_BACKEND is the console backend (text withheld)"]
