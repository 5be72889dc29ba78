"""Phone login with one-time codes sent by SMS."""

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from accounts import errors
from accounts.models import DeviceSession, PhoneOTP, User
from accounts.services.sessions import session_create
from accounts.sms import sms_send
from accounts.tokens import TokenPair
from messenger.errors import ApplicationError


def _code_hash(*, phone: str, code: str) -> str:
    # Keyed with SECRET_KEY: a leaked table alone does not let anyone brute-force the 10^6 codes.
    return salted_hmac("accounts.otp", f"{phone}:{code}", algorithm="sha256").hexdigest()


def otp_request(*, phone: str, ip_address: str | None = None) -> PhoneOTP:
    """Send a fresh 6-digit code to `phone` (E.164), honouring the resend cooldown."""
    now = timezone.now()
    latest = PhoneOTP.objects.filter(phone=phone).order_by("-created_at").first()
    cooldown = timedelta(seconds=settings.OTP_RESEND_COOLDOWN_SECONDS)
    if latest is not None and now - latest.created_at < cooldown:
        wait = int((latest.created_at + cooldown - now).total_seconds()) + 1
        raise errors.RateLimited(
            "A code was sent recently; wait before asking again.", code=errors.OTP_COOLDOWN, retry_after=wait
        )
    code = f"{secrets.randbelow(10**6):06d}"
    with transaction.atomic():
        # A new code replaces any earlier one still pending for this phone.
        PhoneOTP.objects.filter(phone=phone, consumed_at__isnull=True).update(consumed_at=now)
        otp = PhoneOTP.objects.create(
            phone=phone,
            code_hash=_code_hash(phone=phone, code=code),
            expires_at=now + timedelta(seconds=settings.OTP_TTL_SECONDS),
            requested_ip=ip_address,
        )
        transaction.on_commit(lambda: sms_send(phone=phone, text=f"Your messenger code is {code}"))
    return otp


def otp_verify(
    *, phone: str, code: str, device_name: str = "", ip_address: str | None = None, user_agent: str = ""
) -> tuple[User, DeviceSession, TokenPair, bool]:
    """Check a code; on success log in (creating the account on first verify).

    Returns (user, session, tokens, created). Each code is single use and allows
    `OTP_MAX_ATTEMPTS` wrong guesses before it is burnt.
    """
    now = timezone.now()
    failure: ApplicationError | None = None
    with transaction.atomic():
        otp = (
            PhoneOTP.objects.select_for_update()
            .filter(phone=phone, consumed_at__isnull=True)
            .order_by("-created_at")
            .first()
        )
        if otp is None:
            failure = ApplicationError("The code is wrong or was already used.", code=errors.OTP_INVALID)
        elif otp.expires_at <= now:
            failure = ApplicationError("The code has expired; request a new one.", code=errors.OTP_EXPIRED)
        elif otp.attempts >= settings.OTP_MAX_ATTEMPTS:
            failure = ApplicationError(
                "Too many wrong attempts; request a new code.", code=errors.OTP_ATTEMPTS_EXCEEDED
            )
        elif not constant_time_compare(otp.code_hash, _code_hash(phone=phone, code=code)):
            otp.attempts += 1
            otp.save(update_fields=["attempts"])
            remaining = settings.OTP_MAX_ATTEMPTS - otp.attempts
            failure = ApplicationError(
                "The code is wrong." if remaining else "The code is wrong; request a new code.",
                code=errors.OTP_INVALID if remaining else errors.OTP_ATTEMPTS_EXCEEDED,
                details={"attempts_left": remaining},
            )
        else:
            otp.consumed_at = now
            otp.save(update_fields=["consumed_at"])
            user, created = _user_get_or_create_for_phone(phone)
            session, pair = session_create(
                user=user, device_name=device_name, ip_address=ip_address, user_agent=user_agent
            )
            return user, session, pair, created
    # Raised after the block so the attempt counter is committed.
    raise failure


def _user_get_or_create_for_phone(phone: str) -> tuple[User, bool]:
    user = User.objects.filter(phone=phone).first()
    if user is not None:
        return user, False
    username = f"user_{secrets.token_hex(5)}"
    user = User(username=username, phone=phone, display_name=phone)
    user.set_unusable_password()
    user.save()
    return user, True
