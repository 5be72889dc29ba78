"""A member's own settings of a chat: muted until, archived, pinned. REST and chat:settings call this.

Rules: a mute ends at `muted_until` (a time in the past unmutes); archiving a chat unpins it and
pinning one takes it out of the archive, so a chat is pinned or archived, not both; at most
CHAT_MAX_PINNED chats are pinned. An archived chat comes back by itself when a message from
someone else arrives while it is not muted (chats.selectors derives that, the send path does not
write it). Every change is chat:settings_updated to the user's devices.
"""

from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from chats import errors, selectors
from chats.events import stream_event_record
from chats.models import Chat
from chats.payloads import chat_settings_payload
from chats.selectors import MemberSettings
from chats.services.rules import require_role
from messenger.errors import ApplicationError

UNCHANGED = object()


def chat_settings_update(
    *,
    user: User,
    chat_id,
    muted_until: datetime | object | None = UNCHANGED,
    archived: bool | None = None,
    pinned: bool | None = None,
    origin: str = "",
) -> MemberSettings:
    """Change the given settings (None / UNCHANGED: keep) and return them all as they now apply."""
    if archived and pinned:
        raise ApplicationError(
            "A chat is pinned or archived, not both.",
            code="validation_error",
            details={"pinned": ["A chat is pinned or archived, not both."]},
        )
    with transaction.atomic():
        member = require_role(chat_id=chat_id, user=user, roles=None)
        # Shared with the send function's update of the chat row: a message being stored commits
        # before this reads whether the chat is still archived, and none is stored until this
        # commits, so each message is judged against the settings in force when it arrived.
        last_seq = Chat.objects.select_for_update(no_key=True).filter(pk=chat_id).values_list("last_seq", flat=True)
        last_seq = last_seq.get()
        current = selectors.member_settings_get(chat_id=chat_id, user=user)
        now = timezone.now()

        new_muted_until = current.muted_until if muted_until is UNCHANGED else muted_until
        if new_muted_until is not None and new_muted_until <= now:
            new_muted_until = None
        new_archived = current.archived if archived is None else archived
        new_pinned = current.pinned_at is not None if pinned is None else pinned
        if archived:
            new_pinned = False
        if pinned:
            new_archived = False
        new_pinned_at = (current.pinned_at or now) if new_pinned else None

        wanted = MemberSettings(
            chat_id=chat_id, muted_until=new_muted_until, archived=new_archived, pinned_at=new_pinned_at
        )
        if wanted == current:
            return current
        if new_pinned and current.pinned_at is None:
            # The user's row serialises their pins, so two at once cannot both take the last place
            # (NO KEY UPDATE: the user's own messages, whose inserts key-share the row, go on).
            User.objects.select_for_update(no_key=True).filter(pk=user.pk).values_list("pk").first()
            limit = settings.CHAT_MAX_PINNED
            if selectors.member_pinned_count(user=user, excluding_chat_id=chat_id) >= limit:
                raise errors.too_many_pinned(max_pinned=limit)

        member.muted_until = new_muted_until
        # Archived from now on: only messages after this one can bring the chat back, judged
        # against the mute just set.
        member.archived_seq = last_seq if new_archived else None
        member.pinned_at = new_pinned_at
        member.save(update_fields=["muted_until", "archived_seq", "pinned_at"])
        stream_event_record(
            type="chat:settings_updated", user_id=user.pk, payload=chat_settings_payload(wanted), origin=origin
        )
    return wanted
