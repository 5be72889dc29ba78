"""Calls: who rang whom in which chat, who joined from which device, and how it ended.

Media never reaches the server: it flows between the devices, directly or through TURN. The
server keeps the call's record (its state and deadlines live here, so any process can act on
them) and relays the signaling frames between the participants' device sessions.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class Call(models.Model):
    """A 1:1 call (a direct chat) or a group call (a group), `ringing -> active -> ended`."""

    class Kind(models.TextChoices):
        AUDIO = "audio"
        VIDEO = "video"

    class State(models.TextChoices):
        RINGING = "ringing"
        ACTIVE = "active"
        ENDED = "ended"

    class EndReason(models.TextChoices):
        COMPLETED = "completed"  # hung up after it was answered (a group call: its last participant left)
        REJECTED = "rejected"  # the callee declined (1:1)
        MISSED = "missed"  # nobody answered before the ring deadline
        CANCELLED = "cancelled"  # the caller hung up while it rang
        BUSY = "busy"  # the callee was ringing or in another 1:1 call: it never rang
        FAILED = "failed"  # a device reported that the media connection could not be set up
        DISCONNECTED = "disconnected"  # a participant's device lost its socket past the grace period (1:1)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    chat = models.ForeignKey("chats.Chat", on_delete=models.CASCADE, related_name="calls")
    initiator = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    initiator_session = models.ForeignKey(
        "accounts.DeviceSession", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=8, choices=Kind.choices)
    state = models.CharField(max_length=8, choices=State.choices, default=State.RINGING)
    end_reason = models.CharField(max_length=16, choices=EndReason.choices, blank=True)
    created_at = models.DateTimeField()
    # Ringing stops then: a call nobody answered by now ends `missed` (calls.services.deadlines),
    # and in a group call that is going on, the members who have not answered stop ringing.
    ring_deadline = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    # answered_at -> ended_at, whole seconds; 0 for a call never answered; null until it ends.
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            # One ongoing call per chat; call_start answers call_in_progress with its id.
            models.UniqueConstraint(fields=["chat"], condition=~Q(state="ended"), name="calls_one_ongoing_per_chat"),
            models.CheckConstraint(
                condition=Q(state="ended", ended_at__isnull=False, duration_seconds__isnull=False)
                | (~Q(state="ended") & Q(end_reason="", ended_at__isnull=True)),
                name="calls_ended_has_its_end",
            ),
        ]
        indexes = [
            models.Index(fields=["chat", "-created_at"]),
            # The ring deadlines the periodic job looks for.
            models.Index(fields=["ring_deadline"], condition=Q(state="ringing"), name="calls_ringing_deadline"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} call {self.id} ({self.end_reason or self.state})"

    @property
    def is_group(self) -> bool:
        return self.chat.type != self.chat.Type.DIRECT


class CallInvitee(models.Model):
    """A user a call is for: the peer of a 1:1 call, every other member of the group at the start.

    All their devices ring until one of them answers, they decline, the ring deadline passes or
    the call ends. An invitee still `ringing` when the call ends (or, in a group call, when its
    ring deadline passes) missed it.
    """

    class State(models.TextChoices):
        RINGING = "ringing"
        ACCEPTED = "accepted"
        REJECTED = "rejected"

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="invitees")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    state = models.CharField(max_length=8, choices=State.choices, default=State.RINGING)
    responded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["call", "user"], name="calls_invitee_unique")]
        indexes = [
            # Who is being rung right now (busy checks, `ready`).
            models.Index(fields=["user"], condition=Q(state="ringing"), name="calls_invitee_ringing"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} for {self.call_id} ({self.state})"


class CallParticipant(models.Model):
    """A device session in a call: one row per time a device joined (a user joins from one device).

    Signaling frames go only between the sessions of live rows (`left_at` null). While the session
    has no live socket, `reconnect_deadline` says when it leaves (calls.services.deadlines).
    """

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="participants")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    session = models.ForeignKey("accounts.DeviceSession", null=True, on_delete=models.SET_NULL, related_name="+")
    joined_at = models.DateTimeField()
    left_at = models.DateTimeField(null=True, blank=True)
    reconnect_deadline = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["joined_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["call", "user"], condition=Q(left_at__isnull=True), name="calls_participant_one_device_per_user"
            ),
        ]
        indexes = [
            # The signaling check looks up (call, session) among the live rows.
            models.Index(fields=["session", "call"], condition=Q(left_at__isnull=True), name="calls_participant_live"),
            models.Index(fields=["user"], name="calls_participant_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} via {self.session_id} in {self.call_id}"
