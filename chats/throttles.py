"""Throttles of the chats endpoints, per signed-in user (cache-backed, shared across processes).

Invite codes are unguessable; these make trying codes, or hammering one, cost the caller time.
The rates are settings (THROTTLE_INVITE_PREVIEW, THROTTLE_INVITE_JOIN).
"""

from rest_framework.throttling import UserRateThrottle


class InvitePreviewThrottle(UserRateThrottle):
    scope = "invite_preview"


class InviteJoinThrottle(UserRateThrottle):
    scope = "invite_join"
