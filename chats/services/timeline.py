"""System messages: what the server records in a chat's timeline, as messages of kind system.

Each is `{"event": <name>, "actor_id": <who did it>, ...}` (chats.payloads renders it as the
message's `system`), recorded by chats.services.messages.message_record in the transaction of the
change it records, with a seq like any message. They count as activity (the chat moves up the
list) but never as unread. Calls are recorded by the calls app, as kind call.

| event | recorded by | other fields |
| --- | --- | --- |
| member_added | chat_member_add | target_ids: the users added |
| member_removed | chat_member_remove (by a manager) | target_ids: [the user removed] |
| member_left | chat_member_remove (oneself) | target_ids: [the user who left] |
| member_joined_by_link | timeline_member_joined_by_link, for invite links | target_ids: [the user who joined] |
| title_changed | chat_update | title: the new title |
| avatar_changed | chat_update | avatar_id: the new picture's attachment id, or null |
| message_pinned | message_pin | message_id: the pinned message |

Lock order: recording one updates the chat row (its seq) and appends to the stream, so a
transaction that records one locks the chat row (`timeline_chat_lock`) before its first stream
write; otherwise it could hold the stream-order lock while waiting for the chat row, which a sender
holds while waiting for the stream-order lock.
"""

from typing import Any

from accounts.models import User
from chats.models import Chat, Message
from chats.services.messages import message_record

MEMBER_ADDED = "member_added"
MEMBER_REMOVED = "member_removed"
MEMBER_LEFT = "member_left"
MEMBER_JOINED_BY_LINK = "member_joined_by_link"
TITLE_CHANGED = "title_changed"
AVATAR_CHANGED = "avatar_changed"
MESSAGE_PINNED = "message_pinned"


def timeline_chat_lock(*, chat_id) -> Chat:
    """Lock the chat row (before any stream write of the transaction; see the module docstring)."""
    return Chat.objects.select_for_update(no_key=True).get(pk=chat_id)


def timeline_record(*, chat: Chat, actor: User, event: str, **fields: Any) -> dict[str, Any]:
    """Record `event` by `actor` in the chat's timeline; returns the system message's payload."""
    system = {"event": event, "actor_id": str(actor.pk), **fields}
    return message_record(chat=chat, actor=actor, kind=Message.Kind.SYSTEM, system=system)


def timeline_member_joined_by_link(*, chat: Chat, user: User) -> dict[str, Any]:
    """`user` joined `chat` with an invite link: the system message `member_joined_by_link`.

    For the invite-link join: call it in the join's transaction after its chat:member_added event
    (so the new member, whose events start there, receives it), with the chat row locked
    (`timeline_chat_lock`) before that event.
    """
    return timeline_record(chat=chat, actor=user, event=MEMBER_JOINED_BY_LINK, target_ids=[str(user.pk)])
