"""The ICE servers a client's calls use: STUN and TURN URLs from the settings, with TURN credentials
in coturn's REST scheme (`use-auth-secret`, draft-uberti-behave-turn-rest).

coturn shares one secret with this server (`static-auth-secret` = TURN_SHARED_SECRET) and accepts
any username of the form "<unix expiry>:<anything>" whose password is base64(HMAC-SHA1(secret,
username)), until that expiry. So credentials are minted here without talking to coturn, each
user gets their own, and a leaked one stops working at its expiry. Without a secret only the STUN
URLs are offered (TURN would refuse unauthenticated allocations).
"""

import base64
import hashlib
import hmac
from datetime import datetime
from typing import Any

from django.conf import settings


def turn_credential(*, username: str, secret: str) -> str:
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def ice_servers_for_user(*, user_id, now: datetime) -> tuple[list[dict[str, Any]], int]:
    """(RTCIceServer dicts, seconds the credentials stay valid) for `user_id`."""
    ttl = settings.TURN_CREDENTIAL_TTL_SECONDS
    servers: list[dict[str, Any]] = []
    if settings.STUN_URLS:
        servers.append({"urls": list(settings.STUN_URLS)})
    if settings.TURN_URLS and settings.TURN_SHARED_SECRET:
        username = f"{int(now.timestamp()) + ttl}:{user_id}"
        servers.append(
            {
                "urls": list(settings.TURN_URLS),
                "username": username,
                "credential": turn_credential(username=username, secret=settings.TURN_SHARED_SECRET),
            }
        )
    return servers, ttl
