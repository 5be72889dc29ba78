"""Emoji reactions on messages.

A member may leave several different emoji on a message, each once; a message carries at most
MESSAGE_MAX_REACTIONS different emoji. Each change publishes message:reactions with the message's
counts after it, and who added or removed which emoji, so every device updates its own `me`.

Counts are exact under concurrency: a change locks the message row (FOR NO KEY UPDATE, which
replies to it do not wait for) until commit, so the changes of one message are serialised, each
sees the ones before it, and their events are in the same order (chats.events).
"""

import emoji as emoji_data
from django.conf import settings
from django.db import transaction

from accounts.models import User
from chats import errors
from chats.events import stream_event_record
from chats.models import Chat, Message, MessageReaction
from chats.payloads import message_reactions_payload
from chats.selectors import reaction_counts
from chats.services.rules import require_role

EMOJI_MAX_LENGTH = MessageReaction._meta.get_field("emoji").max_length


def reaction_emoji_check(value: str) -> str:
    """`value` if it is exactly one emoji (one Unicode emoji sequence: a flag, a keycap, a ZWJ
    family, a skin tone...), by the `emoji` package's data; else invalid_emoji."""
    if len(value) > EMOJI_MAX_LENGTH or not emoji_data.is_emoji(value):
        raise errors.invalid_emoji()
    return value


def message_react(*, user: User, chat: Chat, message: Message, emoji: str, origin: str = "") -> Message:
    """Add `user`'s `emoji` to the message (already there: nothing changes)."""
    return _reaction_change(user=user, chat=chat, message=message, emoji=emoji, add=True, origin=origin)


def message_unreact(*, user: User, chat: Chat, message: Message, emoji: str, origin: str = "") -> Message:
    """Take `user`'s `emoji` off the message (not there: nothing changes)."""
    return _reaction_change(user=user, chat=chat, message=message, emoji=emoji, add=False, origin=origin)


def _reaction_change(*, user: User, chat: Chat, message: Message, emoji: str, add: bool, origin: str) -> Message:
    reaction_emoji_check(emoji)
    with transaction.atomic():
        require_role(chat_id=chat.pk, user=user, roles=None)
        message = Message.objects.select_for_update(no_key=True).filter(pk=message.pk, deleted_at__isnull=True).first()
        if message is None:  # deleted for everyone since it was read: its reactions are erased
            raise errors.message_not_found()
        mine = MessageReaction.objects.filter(message=message, user=user, emoji=emoji)
        if add:
            if mine.exists():
                return message
            present = set(MessageReaction.objects.filter(message=message).values_list("emoji", flat=True))
            if emoji not in present and len(present) >= settings.MESSAGE_MAX_REACTIONS:
                raise errors.too_many_reactions(max_count=settings.MESSAGE_MAX_REACTIONS)
            MessageReaction.objects.create(message=message, user=user, emoji=emoji)
        elif not mine.delete()[0]:
            return message
        counts = reaction_counts(message_ids=[message.pk]).get(message.pk, [])
        stream_event_record(
            type="message:reactions",
            chat_id=chat.pk,
            payload=message_reactions_payload(message, counts=counts, user=user, emoji=emoji, added=add),
            origin=origin,
        )
    return message
