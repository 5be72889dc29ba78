"""Invite links to groups and channels: created and revoked by owners and admins, used by anyone.

Rules: a code is 144 random bits (secrets.token_urlsafe), unguessable; a link works until it is
revoked, expires (`expires_at`) or has been used `max_uses` times; joining through it is
idempotent for a member (nothing changes, no use is counted); a user an owner or admin removed
from the chat is banned from joining by link (chats.models.ChatBan). The events of a link go to
the owners and admins of the chat only (a code lets anyone in, so plain members never see one).
"""

import secrets
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from chats import errors, selectors
from chats.events import stream_event_record
from chats.models import Chat, ChatInvite, ChatMember
from chats.payloads import invite_event_payload
from chats.services.members import MANAGERS, members_insert
from chats.services.rules import require_manager
from chats.services.timeline import timeline_member_joined_by_link
from messenger.errors import ApplicationError

INVITE_CODE_BYTES = 18  # 144 bits, 24 URL-safe characters


def _record(event_type: str, invite: ChatInvite, *, actor: User) -> None:
    managers = ChatMember.objects.filter(chat_id=invite.chat_id, role__in=MANAGERS).order_by("user_id")
    payload = invite_event_payload(invite, by=actor)
    for user_id in managers.values_list("user_id", flat=True):
        stream_event_record(type=event_type, user_id=user_id, payload=payload)


def invite_create(
    *, chat: Chat, actor: User, expires_at: datetime | None = None, max_uses: int | None = None
) -> ChatInvite:
    if expires_at is not None and expires_at <= timezone.now():
        message = "An invite must expire in the future."
        raise ApplicationError(message, code="validation_error", details={"expires_at": [message]})
    with transaction.atomic():
        require_manager(chat_id=chat.pk, user=actor, roles=MANAGERS)
        invite = ChatInvite.objects.create(
            code=secrets.token_urlsafe(INVITE_CODE_BYTES),
            chat=chat,
            created_by=actor,
            expires_at=expires_at,
            max_uses=max_uses,
        )
        _record("chat:invite_created", invite, actor=actor)
    return invite


def invite_revoke(*, chat: Chat, actor: User, code: str) -> ChatInvite:
    """Revoke a link of the chat; revoking a revoked one changes nothing."""
    with transaction.atomic():
        require_manager(chat_id=chat.pk, user=actor, roles=MANAGERS)
        invite = ChatInvite.objects.select_for_update().filter(chat=chat, code=code).first()
        if invite is None:
            raise errors.invite_not_found()
        if invite.revoked_at is None:
            invite.revoked_at = timezone.now()
            invite.save(update_fields=["revoked_at"])
            _record("chat:invite_revoked", invite, actor=actor)
    return invite


def invite_join(*, user: User, code: str) -> tuple[Chat, bool]:
    """Join the invite's chat; returns (chat, joined), joined False if the user was a member already."""
    with transaction.atomic():
        chat_id = ChatInvite.objects.filter(code=code).values_list("chat_id", flat=True).first()
        # The chat row first, as the send function takes it (the system message below updates it):
        # joins to one chat queue here, so the last use of a link goes to exactly one of them.
        chat = Chat.objects.select_for_update(no_key=True).filter(pk=chat_id, deleted_at__isnull=True).first()
        if chat is None:
            raise errors.invite_not_found()
        invite = ChatInvite.objects.select_for_update().get(code=code)
        if selectors.member_exists(chat_id=chat.pk, user_id=user.pk):
            return chat, False
        selectors.invite_require_usable(invite)
        if selectors.chat_ban_exists(chat_id=chat.pk, user_id=user.pk):
            raise errors.banned()
        invite.uses += 1
        invite.save(update_fields=["uses"])
        members_insert(chat=chat, users=[user], actor=user)
        timeline_member_joined_by_link(chat=chat, user=user)
    return chat, True
