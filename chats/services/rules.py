"""Role checks shared by the chat services. Run inside the caller's transaction."""

from collections.abc import Iterable

from chats import errors
from chats.models import ChatMember


def require_role(*, chat_id, user, roles: Iterable[str] | None) -> ChatMember:
    """Lock and return the user's membership; not_found if none, forbidden without a listed role."""
    member = (
        ChatMember.objects.select_for_update(of=("self",))
        .select_related("chat")
        .filter(chat_id=chat_id, user=user, chat__deleted_at__isnull=True)
        .first()
    )
    if member is None:
        raise errors.chat_not_found()
    if roles is not None and member.role not in roles:
        raise errors.forbidden()
    return member


def require_manager(*, chat_id, user, roles: Iterable[str]) -> ChatMember:
    """Like require_role for group/channel management: direct chats are refused first."""
    member = require_role(chat_id=chat_id, user=user, roles=None)
    if member.chat.type == member.chat.Type.DIRECT:
        raise errors.not_allowed_for_direct()
    if member.role not in roles:
        raise errors.forbidden()
    return member
