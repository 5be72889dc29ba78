"""Reads of the accounts app, with their access rules."""

from django.db.models import Q, QuerySet

from accounts.models import Block, Contact, DeviceSession, User
from accounts.phones import phone_normalize_or_none
from messenger.errors import NotFound


def user_get(*, user_id) -> User:
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        raise NotFound("No such user.")
    return user


def user_search(*, query: str, viewer: User) -> QuerySet[User]:
    """Users whose username or display name contains `query`, or whose phone is exactly it."""
    query = query.strip()
    if not query:
        return User.objects.none()
    match = Q(username__icontains=query) | Q(display_name__icontains=query)
    phone = phone_normalize_or_none(query) if query.startswith("+") else None
    if phone:
        match |= Q(phone=phone)
    return User.objects.filter(match, is_active=True)


def contact_list(*, owner: User) -> QuerySet[Contact]:
    return Contact.objects.filter(owner=owner).select_related("contact")


def contact_get(*, owner: User, contact_id: int) -> Contact:
    contact = contact_list(owner=owner).filter(pk=contact_id).first()
    if contact is None:
        raise NotFound("No such contact.")
    return contact


def block_list(*, blocker: User) -> QuerySet[Block]:
    return Block.objects.filter(blocker=blocker).select_related("blocked")


def block_get(*, blocker: User, blocked_id) -> Block:
    block = block_list(blocker=blocker).filter(blocked_id=blocked_id).first()
    if block is None:
        raise NotFound("This user is not blocked.")
    return block


def block_exists_between(*, user_a_id, user_b_id) -> bool:
    """True if either user blocks the other."""
    return Block.objects.filter(
        Q(blocker_id=user_a_id, blocked_id=user_b_id) | Q(blocker_id=user_b_id, blocked_id=user_a_id)
    ).exists()


def session_list(*, user: User) -> QuerySet[DeviceSession]:
    return DeviceSession.objects.filter(user=user, revoked_at__isnull=True).order_by("-last_used_at")


def session_get(*, user: User, session_id) -> DeviceSession:
    session = session_list(user=user).filter(pk=session_id).first()
    if session is None:
        raise NotFound("No such session.")
    return session


def session_get_active(*, session_id) -> DeviceSession | None:
    """The active session with its user loaded, or None. Runs once per authenticated request."""
    return (
        DeviceSession.objects.select_related("user")
        .filter(pk=session_id, revoked_at__isnull=True, user__is_active=True)
        .first()
    )


def user_get_by_phone(*, phone: str) -> User:
    user = User.objects.filter(phone=phone, is_active=True).first()
    if user is None:
        raise NotFound("No user has this phone number.")
    return user
