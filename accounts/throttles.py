"""Throttles for the unauthenticated auth endpoints (cache-backed, shared across processes)."""

from rest_framework.throttling import SimpleRateThrottle

from accounts.phones import phone_normalize_or_none


class _IpThrottle(SimpleRateThrottle):
    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class LoginThrottle(_IpThrottle):
    scope = "auth_login"


class RegisterThrottle(_IpThrottle):
    scope = "auth_register"


class RefreshThrottle(_IpThrottle):
    scope = "auth_refresh"


class OtpRequestIpThrottle(_IpThrottle):
    scope = "otp_request_ip"


class OtpVerifyThrottle(_IpThrottle):
    scope = "otp_verify"


class OtpRequestPhoneThrottle(SimpleRateThrottle):
    """Limits codes sent to one phone, whichever IPs ask for them."""

    scope = "otp_request_phone"

    def get_cache_key(self, request, view):
        raw = request.data.get("phone") if hasattr(request.data, "get") else None
        phone = phone_normalize_or_none(raw) if isinstance(raw, str) else None
        if phone is None:
            return None  # invalid input is rejected by the serializer, not counted here
        return self.cache_format % {"scope": self.scope, "ident": phone}
