"""The JSON shapes of the chats app, built here only: REST bodies (chats.api.serializers describe
them for OpenAPI and render them with these functions), stream and ephemeral event payloads
(chats.events, the services), the send path and the history page's SQL (chats.history_fast)."""

import json
from collections.abc import Sequence
from typing import Any

from accounts.models import User
from accounts.payloads import user_payload
from chats.models import (
    Chat,
    ChatFolder,
    ChatInvite,
    ChatMember,
    Message,
    MessageAttachment,
    MessageEdit,
    MessagePin,
    MessageReaction,
)
from chats.selectors import MemberSettings, ReactionCount, mute_in_force, reaction_counts
from media.models import Attachment
from media.payloads import ATTACHMENT_FIELDS, attachment_payload, avatar_payload
from messenger.api.formats import iso_datetime
from messenger.payload_fields import PayloadField, payload, payload_sql, sql_iso_datetime, sql_json, sql_json_id


def _attachments(message: Message) -> list[dict]:
    if message.deleted_at is not None:
        return []
    return [attachment_payload(link.attachment) for link in message.attachment_links.all()]


_ATTACHMENTS_SQL = (
    "CASE WHEN m.deleted_at IS NOT NULL THEN '[]' ELSE coalesce(("
    f"SELECT '[' || string_agg({payload_sql(ATTACHMENT_FIELDS)}, ',' ORDER BY l.position, l.id) || ']'"
    f" FROM {MessageAttachment._meta.db_table} l JOIN {Attachment._meta.db_table} a ON a.id = l.attachment_id"
    " WHERE l.message_id = m.id), '[]') END"
)


def _reactions(message: Message) -> list[dict]:
    """Each emoji on the message with its count, in the order of first use, and `me` when the
    message was loaded for one reader (chats.selectors.messages_attach_reactions)."""
    if message.deleted_at is not None:
        return []
    counts = getattr(message, "reaction_counts", None)
    if counts is None:  # not loaded for a reader: the counts alone, as events carry them
        counts = reaction_counts(message_ids=[message.pk]).get(message.pk, [])
    return [reaction_payload(count) for count in counts]


def reaction_payload(count: ReactionCount) -> dict[str, Any]:
    if count.me is None:
        return {"emoji": count.emoji, "count": count.count}
    return {"emoji": count.emoji, "count": count.count, "me": count.me}


# The reader is the query's %(user)s (the history page's caller); a JSON object per emoji, as
# reaction_payload renders it.
_REACTIONS_SQL = (
    "CASE WHEN m.deleted_at IS NOT NULL THEN '[]' ELSE coalesce(("
    """SELECT '[' || string_agg('{"emoji":' || to_json(r.emoji)::text || ',"count":' || r.n::text"""
    """ || ',"me":' || r.me::text || '}', ',' ORDER BY r.first) || ']'"""
    " FROM (SELECT x.emoji, count(*) AS n, bool_or(x.user_id = %(user)s::uuid) AS me, min(x.id) AS first"
    f" FROM {MessageReaction._meta.db_table} x WHERE x.message_id = m.id GROUP BY x.emoji) r), '[]') END"
)


def _mentions(message: Message) -> list[str]:
    if message.deleted_at is not None or not message.mention_ids:
        return []
    return [str(user_id) for user_id in message.mention_ids]


def _forwarded_from(message: Message) -> dict[str, Any] | None:
    if message.deleted_at is not None or not message.forwarded_from_json:
        return None
    return json.loads(message.forwarded_from_json)


# A message; deleted, it shows no text, files, reactions, mentions or origin. The SQL renders a row
# `m` of the message table (chats.history_fast), the attachments with the URL parameters of
# media.payloads.ATTACHMENT_FIELDS, `reactions[].me` for the reader %(user)s.
MESSAGE_FIELDS = (
    PayloadField("id", lambda m: str(m.pk), sql_json_id("m.id")),
    PayloadField("chat_id", lambda m: str(m.chat_id), sql_json_id("m.chat_id")),
    PayloadField("seq", lambda m: m.seq, "m.seq::text"),
    PayloadField("sender_id", lambda m: None if m.sender_id is None else str(m.sender_id), sql_json_id("m.sender_id")),
    PayloadField("client_id", lambda m: m.client_id, sql_json("m.client_id")),
    PayloadField("kind", lambda m: m.kind, sql_json("m.kind")),
    PayloadField(
        "text",
        lambda m: "" if m.deleted_at is not None else m.text,
        "CASE WHEN m.deleted_at IS NULL THEN to_json(m.text)::text ELSE '\"\"' END",
    ),
    PayloadField(
        "system", lambda m: json.loads(m.system_json) if m.system_json else None, "coalesce(m.system_json, 'null')"
    ),
    PayloadField(
        "reply_to_id", lambda m: None if m.reply_to_id is None else str(m.reply_to_id), sql_json_id("m.reply_to_id")
    ),
    PayloadField(
        "forwarded_from",
        _forwarded_from,
        "CASE WHEN m.deleted_at IS NULL THEN coalesce(m.forwarded_from_json, 'null') ELSE 'null' END",
    ),
    PayloadField(
        "mentions",
        _mentions,
        "CASE WHEN m.deleted_at IS NULL AND m.mention_ids IS NOT NULL THEN array_to_json(m.mention_ids)::text"
        " ELSE '[]' END",
    ),
    PayloadField("attachments", _attachments, _ATTACHMENTS_SQL),
    PayloadField("reactions", _reactions, _REACTIONS_SQL),
    PayloadField("created_at", lambda m: iso_datetime(m.created_at), sql_iso_datetime("m.created_at")),
    PayloadField("edited_at", lambda m: iso_datetime(m.edited_at), sql_iso_datetime("m.edited_at")),
    PayloadField("deleted", lambda m: m.deleted_at is not None, "(m.deleted_at IS NOT NULL)::text"),
)

MESSAGE_JSON_SQL = payload_sql(MESSAGE_FIELDS)


def system_json(system: dict[str, Any]) -> str:
    """A system or call message's payload as stored: the text DRF's renderer gives for it."""
    return json.dumps(system, separators=(",", ":"), ensure_ascii=False)


def forwarded_from_json(*, source: Message, source_chat: Chat) -> str:
    """A forward's origin as stored (like system_json): the original's, when forwarding a forward.

    The source chat is named only for groups and channels, whose id lets nobody in (a non-member
    gets not_found; joining takes an invite); a direct chat's id is never shown to others.
    """
    if source.forwarded_from_json:
        return source.forwarded_from_json
    sender = source.sender
    named = source_chat.type != Chat.Type.DIRECT
    return system_json(
        {
            "sender_id": None if sender is None else str(sender.pk),
            "sender_name": "" if sender is None else (sender.display_name or sender.username),
            "chat_id": str(source_chat.pk) if named else None,
            "chat_title": source_chat.title if named else None,
            "sent_at": iso_datetime(source.created_at),
        }
    )


def message_payload(message: Message) -> dict[str, Any]:
    """A message (its attachment links loaded, e.g. by chats.selectors.message_queryset; its
    reactions, with `me`, by chats.selectors.messages_attach_reactions for a reader)."""
    return payload(MESSAGE_FIELDS, message)


def message_deleted_payload(message: Message, *, by: User, for_everyone: bool) -> dict[str, Any]:
    """message:deleted; for_everyone false: hidden for `by` only (the event reaches only them)."""
    return {
        "chat_id": str(message.chat_id),
        "message_id": str(message.pk),
        "seq": message.seq,
        "by": str(by.pk),
        "for_everyone": for_everyone,
    }


def message_reactions_payload(
    message: Message, *, counts: Sequence[ReactionCount], user: User, emoji: str, added: bool
) -> dict[str, Any]:
    """message:reactions: the message's counts after `user` added or removed `emoji`."""
    return {
        "chat_id": str(message.chat_id),
        "message_id": str(message.pk),
        "reactions": [reaction_payload(count) for count in counts],
        "user_id": str(user.pk),
        "emoji": emoji,
        "added": added,
    }


def message_edit_payload(edit: MessageEdit) -> dict[str, Any]:
    """One version of a message's text (GET .../edits)."""
    return {"text": edit.text, "written_at": iso_datetime(edit.written_at)}


def pins_payload(*, chat_id, pinned_message_ids: Sequence) -> dict[str, Any]:
    """chat:pins_updated, and the answer to a pin or unpin: the chat's pins, newest first."""
    return {"chat_id": str(chat_id), "pinned_message_ids": [str(message_id) for message_id in pinned_message_ids]}


def pin_payload(pin: MessagePin) -> dict[str, Any]:
    """A pin as GET .../pins lists it (its message loaded for the reader)."""
    return {
        "message": message_payload(pin.message),
        "pinned_by": None if pin.pinned_by_id is None else str(pin.pinned_by_id),
        "pinned_at": iso_datetime(pin.pinned_at),
    }


def chat_public_payload(chat: Chat) -> dict[str, Any]:
    """What every member sees of a chat; the payload of chat:created / chat:updated."""
    return {
        "id": str(chat.pk),
        "type": chat.type,
        "title": chat.title,
        "description": chat.description,
        "avatar": avatar_payload(chat.avatar_id),
        "created_at": iso_datetime(chat.created_at),
        "updated_at": iso_datetime(chat.updated_at),
        "last_seq": chat.last_seq,
    }


def chat_payload(chat: Chat, *, viewer_id) -> dict[str, Any]:
    """A chat as one member sees it: `chat` annotated by chats.selectors.chat_list_for_user, with
    its last message attached (chats_attach_last_messages)."""
    last_message = getattr(chat, "last_message", None)
    return {
        **chat_public_payload(chat),
        "last_activity_at": iso_datetime(chat.last_activity_at),
        "role": chat.my_role,
        "unread_count": chat.unread_count,
        "unread_mentions_count": chat.unread_mentions_count,
        "last_read_seq": chat.my_last_read_seq,
        "last_delivered_seq": chat.my_last_delivered_seq,
        "member_count": chat.member_count,
        "peer_id": chat.direct_peer_id(viewer_id),
        "last_message": message_payload(last_message) if last_message else None,
        "settings": chat_settings_payload(
            MemberSettings(
                chat_id=chat.pk,
                muted_until=mute_in_force(chat.my_muted_until),
                archived=chat.my_archived,
                pinned_at=chat.my_pinned_at,
            )
        ),
    }


def chat_settings_payload(settings: MemberSettings) -> dict[str, Any]:
    """A member's own settings of a chat: chat:settings_updated, the ack of chat:settings, and the
    `settings` of the chat list."""
    return {
        "chat_id": str(settings.chat_id),
        "muted_until": iso_datetime(settings.muted_until),
        "archived": settings.archived,
        "pinned": settings.pinned_at is not None,
        "pinned_at": iso_datetime(settings.pinned_at),
    }


def folder_payload(folder: ChatFolder) -> dict[str, Any]:
    """A folder with its chats in the owner's order (entries loaded by chats.selectors.folder_queryset)."""
    return {
        "id": str(folder.pk),
        "name": folder.name,
        "position": folder.position,
        "chat_ids": [str(entry.chat_id) for entry in folder.entries.all()],
        "created_at": iso_datetime(folder.created_at),
        "updated_at": iso_datetime(folder.updated_at),
    }


def folder_deleted_payload(*, folder_id) -> dict[str, str]:
    return {"folder_id": str(folder_id)}


def invite_payload(invite: ChatInvite) -> dict[str, Any]:
    """An invite link as the chat's owners and admins see it."""
    return {
        "code": invite.code,
        "chat_id": str(invite.chat_id),
        "created_by": None if invite.created_by_id is None else str(invite.created_by_id),
        "created_at": iso_datetime(invite.created_at),
        "expires_at": iso_datetime(invite.expires_at),
        "max_uses": invite.max_uses,
        "uses": invite.uses,
        "revoked_at": iso_datetime(invite.revoked_at),
    }


def invite_event_payload(invite: ChatInvite, *, by: User) -> dict[str, Any]:
    """chat:invite_created / chat:invite_revoked."""
    return {"chat_id": str(invite.chat_id), "invite": invite_payload(invite), "by": str(by.pk)}


def invite_preview_payload(invite: ChatInvite, *, is_member: bool) -> dict[str, Any]:
    """What any signed-in user with the code sees of the chat (invite annotated with member_count)."""
    chat = invite.chat
    return {
        "code": invite.code,
        "chat_id": str(chat.pk),
        "type": chat.type,
        "title": chat.title,
        "description": chat.description,
        "avatar": avatar_payload(chat.avatar_id),
        "member_count": invite.member_count,
        "expires_at": iso_datetime(invite.expires_at),
        "is_member": is_member,
    }


def chat_event_payload(chat: Chat, *, by: User) -> dict[str, Any]:
    return {"chat": chat_public_payload(chat), "by": str(by.pk)}


def chat_deleted_payload(chat: Chat, *, by: User) -> dict[str, Any]:
    return {"chat_id": str(chat.pk), "by": str(by.pk)}


def member_event_payload(member: ChatMember, *, by: User) -> dict[str, Any]:
    """chat:member_added / chat:member_updated."""
    return {
        "chat_id": str(member.chat_id),
        "member": {"user": user_payload(member.user), "role": member.role, "joined_at": iso_datetime(member.joined_at)},
        "by": str(by.pk),
    }


def member_removed_payload(*, chat: Chat, user_id, by: User) -> dict[str, Any]:
    return {"chat_id": str(chat.pk), "user_id": str(user_id), "by": str(by.pk)}


def receipt_payload(member: ChatMember) -> dict[str, Any]:
    """message:status, and the answer to a receipt."""
    return {
        "chat_id": str(member.chat_id),
        "user_id": str(member.user_id),
        "delivered_seq": member.last_delivered_seq,
        "read_seq": member.last_read_seq,
    }


def typing_payload(*, chat_id, user_id) -> dict[str, str]:
    return {"chat_id": str(chat_id), "user_id": str(user_id)}


def presence_payload(*, user_id, online: bool, last_seen) -> dict[str, Any]:
    return {"user_id": str(user_id), "status": "online" if online else "offline", "last_seen": iso_datetime(last_seen)}
