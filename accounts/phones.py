"""Phone numbers are stored in E.164; this is the one place that parses them."""

import phonenumbers

from accounts import errors
from messenger.errors import ApplicationError


def phone_normalize(raw: str) -> str:
    """Return `raw` as E.164 ("+14155550123") or raise `invalid_phone`."""
    try:
        number = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_possible_number(number) or not phonenumbers.is_valid_number(number):
        raise ApplicationError(
            "Enter a phone number in international format, e.g. +14155550123.", code=errors.INVALID_PHONE
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_normalize_or_none(raw: str) -> str | None:
    try:
        return phone_normalize(raw)
    except ApplicationError:
        return None
