"""Stable error codes of the accounts app (REST `code` and WebSocket `error` frames)."""

from messenger.errors import ApplicationError

INVALID_CREDENTIALS = "invalid_credentials"
USERNAME_TAKEN = "username_taken"
PHONE_TAKEN = "phone_taken"
EMAIL_TAKEN = "email_taken"
PASSWORD_INVALID = "password_invalid"
INVALID_PHONE = "invalid_phone"
OTP_INVALID = "otp_invalid"
OTP_EXPIRED = "otp_expired"
OTP_ATTEMPTS_EXCEEDED = "otp_attempts_exceeded"
OTP_COOLDOWN = "otp_cooldown"
TOKEN_INVALID = "token_not_valid"
SESSION_REVOKED = "session_revoked"
REFRESH_TOKEN_REUSED = "refresh_token_reused"
REFRESH_TOKEN_SUPERSEDED = "refresh_token_superseded"
CANNOT_TARGET_SELF = "cannot_target_self"
TOO_MANY_PHONES = "too_many_phones"


class RateLimited(ApplicationError):
    """429 with a Retry-After header."""

    def __init__(self, message: str, *, code: str, retry_after: int) -> None:
        super().__init__(message, code=code, status=429, details={"retry_after": retry_after})
        self.retry_after = retry_after
