"""Creating and editing user accounts."""

import enum
import uuid

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts import errors
from accounts.models import User
from media.selectors import attachment_get_avatar_candidate
from messenger.errors import ApplicationError


class _Unchanged(enum.Enum):
    """Default of arguments for which None is a value ("remove the avatar")."""

    UNCHANGED = "unchanged"


UNCHANGED = _Unchanged.UNCHANGED


def _ensure_unique(
    *, username: str | None = None, phone: str | None = None, email: str | None = None, exclude: User | None = None
) -> None:
    users = User.objects.all()
    if exclude is not None:
        users = users.exclude(pk=exclude.pk)
    if username and users.filter(username__iexact=username).exists():
        raise ApplicationError("This username is taken.", code=errors.USERNAME_TAKEN, details={"field": "username"})
    if phone and users.filter(phone=phone).exists():
        raise ApplicationError(
            "This phone number is already registered.", code=errors.PHONE_TAKEN, details={"field": "phone"}
        )
    if email and users.filter(email__iexact=email).exists():
        raise ApplicationError("This email is already registered.", code=errors.EMAIL_TAKEN, details={"field": "email"})


def user_register(
    *, username: str, password: str, phone: str | None = None, email: str | None = None, display_name: str = ""
) -> User:
    """Create an account with a password. `phone` must already be E.164."""
    email = email.lower() if email else None
    _ensure_unique(username=username, phone=phone, email=email)
    user = User(username=username, phone=phone, email=email, display_name=display_name or username)
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        raise ApplicationError(
            "The password is too weak.", code=errors.PASSWORD_INVALID, details={"password": list(exc.messages)}
        ) from exc
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:
        # Lost a race with a concurrent registration: report which field collided.
        _ensure_unique(username=username, phone=phone, email=email)
        raise
    return user


def user_update(
    *,
    user: User,
    display_name: str | None = None,
    bio: str | None = None,
    username: str | None = None,
    email: str | None = None,
    avatar_id: uuid.UUID | _Unchanged | None = UNCHANGED,
) -> User:
    """Edit the caller's own profile. `avatar_id` must name an image the user uploaded; None removes it."""
    fields: list[str] = []
    if username is not None and username != user.username:
        _ensure_unique(username=username, exclude=user)
        user.username = username
        fields.append("username")
    if email is not None:
        email = email.lower() or None
        if email != user.email:
            _ensure_unique(email=email, exclude=user)
            user.email = email
            fields.append("email")
    if display_name is not None:
        user.display_name = display_name
        fields.append("display_name")
    if bio is not None:
        user.bio = bio
        fields.append("bio")
    # One transaction: the avatar's row stays locked from the check until the save, so media_cleanup
    # cannot delete an old upload that is becoming an avatar.
    with transaction.atomic():
        if avatar_id is not UNCHANGED:
            user.avatar = attachment_get_avatar_candidate(uploader=user, attachment_id=avatar_id) if avatar_id else None
            fields.append("avatar")
        if fields:
            user.save(update_fields=fields)
    return user
