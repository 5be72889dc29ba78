"""Shapes of calls for REST and OpenAPI, and the requests of REST and the socket's call frames; the
bodies come from calls.payloads."""

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.api.serializers import UserSerializer
from calls.models import Call
from calls.payloads import call_history_payload
from calls.services.calls import END_REASONS_FROM_CLIENTS
from chats.api.serializers import ChatPublicSerializer


class CallParticipantSerializer(serializers.Serializer):
    user_id = serializers.UUIDField()
    session_id = serializers.UUIDField(allow_null=True, help_text="The device session; signal it with to_session_id.")
    joined_at = serializers.DateTimeField()
    left_at = serializers.DateTimeField(allow_null=True)


class CallSerializer(serializers.Serializer):
    """A call as the requesting user's history shows it (calls.payloads.call_history_payload)."""

    id = serializers.UUIDField()
    chat_id = serializers.UUIDField()
    chat_type = serializers.ChoiceField(choices=["direct", "group"])
    kind = serializers.ChoiceField(choices=Call.Kind.choices)
    state = serializers.ChoiceField(choices=Call.State.choices)
    end_reason = serializers.ChoiceField(choices=Call.EndReason.choices, allow_null=True)
    initiator_id = serializers.UUIDField(allow_null=True)
    initiator_session_id = serializers.UUIDField(allow_null=True)
    created_at = serializers.DateTimeField()
    ring_deadline = serializers.DateTimeField(help_text="Ringing stops then (an unanswered call ends `missed`).")
    answered_at = serializers.DateTimeField(allow_null=True)
    ended_at = serializers.DateTimeField(allow_null=True)
    duration_seconds = serializers.IntegerField(
        allow_null=True, help_text="From answered to ended (0 if never answered); null until it ends."
    )
    participants = CallParticipantSerializer(many=True, help_text="Every device that joined, in joining order.")
    direction = serializers.ChoiceField(choices=["incoming", "outgoing"])
    missed = serializers.BooleanField(help_text="You were rung and neither answered nor declined.")
    peer = serializers.SerializerMethodField(help_text="For 1:1 calls, the other user; null for group calls.")
    chat = serializers.SerializerMethodField(help_text="For group calls, the group; null for 1:1 calls.")

    def to_representation(self, call: Call) -> dict:
        return call_history_payload(call, viewer_id=self.context["request"].user.pk, now=timezone.now())

    # The getters document the fields' types for OpenAPI; call_history_payload renders them.
    @extend_schema_field(UserSerializer(allow_null=True))
    def get_peer(self, call: Call) -> dict | None:
        return self.to_representation(call)["peer"]

    @extend_schema_field(ChatPublicSerializer(allow_null=True))
    def get_chat(self, call: Call) -> dict | None:
        return self.to_representation(call)["chat"]


class IceServerSerializer(serializers.Serializer):
    urls = serializers.ListField(child=serializers.CharField())
    username = serializers.CharField(required=False, help_text="TURN only: `<unix expiry>:<your user id>`.")
    credential = serializers.CharField(required=False, help_text="TURN only: valid until the username's expiry.")


class IceServersSerializer(serializers.Serializer):
    ice_servers = IceServerSerializer(many=True, help_text="As RTCConfiguration.iceServers takes them.")
    ttl_seconds = serializers.IntegerField(help_text="How long the TURN credentials stay valid.")


# --- Requests (REST bodies, and the data of the socket's call frames) --------------------------------


class CallStartSerializer(serializers.Serializer):
    """`call:start`, and POST /api/v1/calls."""

    chat_id = serializers.UUIDField(help_text="A direct chat (a 1:1 call) or a group (a group call).")
    kind = serializers.ChoiceField(choices=Call.Kind.choices)


class CallRefSerializer(serializers.Serializer):
    """`call:accept`, `call:reject`, `call:join`."""

    call_id = serializers.UUIDField()


class CallEndSerializer(serializers.Serializer):
    """POST /api/v1/calls/{id}/end."""

    reason = serializers.ChoiceField(
        choices=END_REASONS_FROM_CLIENTS,
        required=False,
        default=None,
        allow_null=True,
        help_text="`failed`: the devices could not connect (a 1:1 call then ends `failed`).",
    )


class CallEndFrameSerializer(CallRefSerializer, CallEndSerializer):
    """`call:end` and `call:leave`."""


class CallHistoryQuerySerializer(serializers.Serializer):
    chat_id = serializers.UUIDField(required=False)
    missed = serializers.BooleanField(required=False, allow_null=True, default=None)
