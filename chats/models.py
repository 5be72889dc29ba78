"""Chats, their members and messages, and the durable event stream clients resume from."""

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


class Chat(models.Model):
    """A conversation: a direct chat between two users, a group, or a broadcast channel."""

    class Type(models.TextChoices):
        DIRECT = "direct"
        GROUP = "group"
        CHANNEL = "channel"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    type = models.CharField(max_length=8, choices=Type.choices)
    title = models.CharField(max_length=128, blank=True)
    description = models.CharField(max_length=1000, blank=True)
    avatar = models.ForeignKey("media.Attachment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # "<smaller user id>:<larger user id>" for direct chats, so a pair has at most one.
    direct_key = models.CharField(max_length=73, unique=True, null=True, blank=True, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Sequence of the newest message; incremented under the row lock, so seqs are gap-free.
    last_seq = models.BigIntegerField(default=0)
    # Not indexed: it changes with every message, and an index on it would make each of those
    # chat-row updates rewrite every index of the table instead of a heap-only (HOT) update.
    # Chat lists are per member, sorted after the membership join, where a global index is no use.
    last_activity_at = models.DateTimeField(auto_now_add=True)
    # Deleted chats keep their rows (and members) so the chat:deleted event still reaches everyone.
    deleted_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.title or f"{self.type} {self.id}"

    def direct_peer_id(self, user_id) -> str | None:
        """The other participant of a direct chat, read from its key without a query."""
        if not self.direct_key:
            return None
        first, second = self.direct_key.split(":")
        return second if first == str(user_id) else first


class ChatMember(models.Model):
    """A user's membership in a chat, with their role and receipt positions."""

    class Role(models.TextChoices):
        OWNER = "owner"
        ADMIN = "admin"
        MEMBER = "member"

    chat = models.ForeignKey(Chat, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_memberships")
    role = models.CharField(max_length=8, choices=Role.choices, default=Role.MEMBER)
    joined_at = models.DateTimeField(auto_now_add=True)
    # Stream events of this chat with an id above this one concern the member.
    joined_event_id = models.BigIntegerField(default=0)
    last_delivered_seq = models.BigIntegerField(default=0)
    last_read_seq = models.BigIntegerField(default=0)
    # The member's own settings of the chat (chats.services.settings); a new membership starts
    # without any. Muted while `muted_until` is in the future ("forever" is a far date).
    muted_until = models.DateTimeField(null=True, blank=True)
    # Set while the member keeps the chat archived: the chat's last seq when they archived it (or
    # last changed its settings). A later message from someone else that arrives while the chat is
    # not muted brings it back; chats.selectors derives that, so the send path writes nothing here.
    archived_seq = models.BigIntegerField(null=True, blank=True)
    # Pinned chats come first in the member's chat list, the most recently pinned first.
    pinned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["chat", "user"], name="chats_member_unique")]
        indexes = [models.Index(fields=["user", "chat"])]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.chat_id} ({self.role})"


class ChatBan(models.Model):
    """`user` was removed from a group or channel by an owner or admin and may not rejoin by link.

    Leaving is not a ban. An owner or admin adding the user back lifts it (chats.services.members).
    """

    chat = models.ForeignKey(Chat, on_delete=models.CASCADE, related_name="bans")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    banned_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["chat", "user"], name="chats_ban_unique")]

    def __str__(self) -> str:
        return f"{self.user_id} banned from {self.chat_id}"


class ChatInvite(models.Model):
    """A link that lets any signed-in user join a group or channel (chats.services.invites).

    The code is the link's secret: random, at least 128 bits, and the row's key. A revoked,
    expired or used-up invite stays, so a join through it says which of those it is.
    """

    code = models.CharField(max_length=64, primary_key=True, editable=False)
    chat = models.ForeignKey(Chat, on_delete=models.CASCADE, related_name="invites")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    max_uses = models.PositiveIntegerField(null=True, blank=True)
    # Joins through the link; incremented under the invite's row lock, so it never passes max_uses.
    uses = models.PositiveIntegerField(default=0)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["chat", "-created_at"])]

    def __str__(self) -> str:
        return f"invite to {self.chat_id}"


class ChatFolder(models.Model):
    """A user's named list of their chats; the user orders their folders by `position`."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_folders")
    name = models.CharField(max_length=64)
    position = models.PositiveIntegerField(default=0)
    chats = models.ManyToManyField(Chat, through="ChatFolderEntry", related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["owner", "position"])]

    def __str__(self) -> str:
        return self.name


class ChatFolderEntry(models.Model):
    """A chat in a folder, at the place the user put it. A chat may be in several folders."""

    folder = models.ForeignKey(ChatFolder, on_delete=models.CASCADE, related_name="entries")
    chat = models.ForeignKey(Chat, on_delete=models.CASCADE, related_name="folder_entries")
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["folder", "chat"], name="chats_folder_entry_unique")]

    def __str__(self) -> str:
        return f"{self.chat_id} in {self.folder_id}"


class Message(models.Model):
    """A message; `seq` is its gap-free position in the chat.

    Most are a user's text and files (`kind` text). The server also records events in the timeline
    as messages, with a seq like any other: `kind` system (membership changes and the like) and
    call (a call that ended), whose structured `system` payload (`system_json`) clients render.
    """

    class Kind(models.TextChoices):
        TEXT = "text"
        SYSTEM = "system"
        CALL = "call"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # The foreign keys of the hot tables (messages, stream events) have no index of their own:
    # the composite unique constraints / indexes below start with them and serve their lookups,
    # and every index is one more write per message.
    chat = models.ForeignKey(Chat, on_delete=models.CASCADE, related_name="messages", db_index=False)
    seq = models.BigIntegerField()
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    # The sender's idempotency key: a repeated (sender, client_id) returns the original message.
    client_id = models.CharField(max_length=64)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.TEXT, db_default=Kind.TEXT)
    text = models.TextField(blank=True)
    # For kind system and call: what happened, e.g. {"event": "member_added", "actor_id": ..., ...},
    # as the JSON text the payloads show (chats.payloads), so that rendering it in SQL (the history
    # page) gives the same bytes as rendering it in Python.
    system_json = models.TextField(null=True, blank=True)
    reply_to = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # The members the text mentions (@username, @all), resolved when it was sent or edited; null
    # when none (most messages: an empty array would still take room in every row).
    mention_ids = ArrayField(models.UUIDField(), null=True, blank=True)
    # A forwarded copy: where the original came from, {sender_id, sender_name, chat_id, chat_title,
    # sent_at}, as the JSON text the payloads show (like system_json).
    forwarded_from_json = models.TextField(null=True, blank=True)
    attachments = models.ManyToManyField(
        "media.Attachment", blank=True, related_name="messages", through="MessageAttachment"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["chat", "seq"], name="chats_message_chat_seq_unique"),
            models.UniqueConstraint(fields=["sender", "client_id"], name="chats_message_sender_client_id_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.chat_id}#{self.seq}"


class MessageEdit(models.Model):
    """A previous text of an edited message: the version it had from `written_at` to `replaced_at`."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="edits", db_index=False)
    text = models.TextField(blank=True)
    written_at = models.DateTimeField()
    replaced_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["message", "written_at"])]

    def __str__(self) -> str:
        return f"{self.message_id} until {self.replaced_at:%Y-%m-%d %H:%M:%S}"


class MessageReaction(models.Model):
    """One user's emoji on a message; a user may leave several different emoji, each once."""

    id = models.BigAutoField(primary_key=True)  # reactions are listed by their first use (lowest id)
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="reactions", db_index=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    emoji = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # Also the index that reads a message's reactions.
            models.UniqueConstraint(fields=["message", "emoji", "user"], name="chats_reaction_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.emoji} on {self.message_id}"


class MessageHidden(models.Model):
    """A message the user deleted for themselves: gone from their history, unread counts and search."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="+", db_index=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # Also the index of the "not hidden for the reader" probes of every history read.
            models.UniqueConstraint(fields=["user", "message"], name="chats_hidden_unique"),
        ]
        indexes = [models.Index(fields=["message"])]  # the cascade when a message row goes

    def __str__(self) -> str:
        return f"{self.message_id} hidden for {self.user_id}"


class MessagePin(models.Model):
    """A message pinned in its chat (at most chats.services.pins.CHAT_MAX_PINS per chat)."""

    chat = models.ForeignKey(Chat, on_delete=models.CASCADE, related_name="+", db_index=False)
    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="pin")
    pinned_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    pinned_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["chat", "-pinned_at"])]

    def __str__(self) -> str:
        return f"{self.message_id} pinned in {self.chat_id}"


class MessageAttachment(models.Model):
    """A file on a message, in the order the sender gave."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachment_links")
    attachment = models.ForeignKey("media.Attachment", on_delete=models.CASCADE, related_name="message_links")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["message", "attachment"], name="chats_message_attachment_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.message_id} #{self.position}"


class StreamEvent(models.Model):
    """One durable event in the stream clients resume from; `id` is the public cursor.

    An event concerns the members of `chat` (those who joined before it) and, if set, `user`
    (for instance the member who was just removed). Ids are assigned in commit order (see
    chats.events), so reading `id > cursor` never skips an event committed later.
    """

    id = models.BigAutoField(primary_key=True)
    type = models.CharField(max_length=32)
    chat = models.ForeignKey(Chat, null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_index=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    payload = models.JSONField(encoder=DjangoJSONEncoder)
    # The socket whose frame caused the event; it got an ack and is skipped by live delivery.
    origin = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        indexes = [
            models.Index(fields=["chat", "id"]),
            models.Index(fields=["user", "id"]),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.type}"


class StreamRetention(models.Model):
    """Singleton: events up to `pruned_through_id` were deleted; older cursors are expired."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    pruned_through_id = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"pruned through {self.pruned_through_id}"


class SocketConnection(models.Model):
    """A live WebSocket. A user is online while they have at least one."""

    channel_name = models.CharField(max_length=200, primary_key=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    session = models.ForeignKey("accounts.DeviceSession", on_delete=models.CASCADE, related_name="+")
    # The server process holding the socket; if that process dies, its rows are reaped.
    server_id = models.CharField(max_length=32, db_index=True)
    connected_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["user"])]

    def __str__(self) -> str:
        return f"{self.user_id} via {self.channel_name}"


class ServerProcess(models.Model):
    """A running server process, kept alive by its heartbeat (see chats.services.presence)."""

    id = models.CharField(max_length=32, primary_key=True)
    started_at = models.DateTimeField(auto_now_add=True)
    heartbeat_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.id} (seen {self.heartbeat_at:%H:%M:%S})"
