"""The JSON shapes of users, built here only: REST bodies (accounts.api.serializers describe them for
OpenAPI), event payloads of other apps (chat members) and the WebSocket's `ready` frame."""

from accounts.models import User
from media.payloads import avatar_payload
from messenger.api.formats import iso_datetime


def user_payload(user: User) -> dict:
    """What any user may see of another."""
    return {
        "id": str(user.pk),
        "username": user.username,
        "display_name": user.display_name,
        "bio": user.bio,
        "avatar": avatar_payload(user.avatar_id),
        "last_seen": iso_datetime(user.last_seen),
    }


def user_profile_payload(user: User, *, online: bool) -> dict:
    """GET /api/v1/users/{id}: the public fields, and whether the user has a live socket now."""
    return {**user_payload(user), "online": online}


def me_payload(user: User) -> dict:
    """The user's own profile, with the private fields."""
    return {
        **user_payload(user),
        "phone": user.phone,
        "email": user.email,
        "date_joined": iso_datetime(user.date_joined),
    }
