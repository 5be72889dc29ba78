"""Request and response shapes of the accounts API. No side effects here."""

from django.conf import settings
from rest_framework import serializers

from accounts.models import Block, Contact, DeviceSession, User
from accounts.payloads import me_payload, user_payload
from accounts.phones import phone_normalize
from media.api.serializers import AvatarSerializer
from messenger.errors import ApplicationError

USERNAME_FIELD = serializers.RegexField(
    r"^[A-Za-z0-9_.]{3,32}$",
    max_length=32,
    help_text="3-32 letters, digits, '_' or '.'; unique, case-insensitive.",
    error_messages={"invalid": "Use 3-32 letters, digits, '_' or '.'."},
)


class PhoneField(serializers.CharField):
    """A phone number normalised to E.164."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 32)
        kwargs.setdefault("help_text", "International format, e.g. +14155550123; stored as E.164.")
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        try:
            return phone_normalize(value)
        except ApplicationError as exc:
            raise serializers.ValidationError(exc.message, code="invalid_phone") from exc


class UserSerializer(serializers.ModelSerializer):
    """What any user may see of another."""

    id = serializers.CharField(read_only=True, help_text="Opaque user id.")
    avatar = AvatarSerializer(source="avatar_id", read_only=True, allow_null=True)

    class Meta:
        model = User
        fields = ["id", "username", "display_name", "bio", "avatar", "last_seen"]
        read_only_fields = fields

    def to_representation(self, user: User) -> dict:
        return user_payload(user)


class UserProfileSerializer(UserSerializer):
    """A user's public profile with their presence (GET /api/v1/users/{id}); rendered by
    accounts.payloads.user_profile_payload."""

    online = serializers.BooleanField(read_only=True, help_text="Connected on some device now.")

    class Meta(UserSerializer.Meta):
        fields = [*UserSerializer.Meta.fields, "online"]
        read_only_fields = fields


class MeSerializer(serializers.ModelSerializer):
    """The caller's own profile, including private fields."""

    id = serializers.CharField(read_only=True)
    username = USERNAME_FIELD
    email = serializers.EmailField(required=False, allow_blank=True, allow_null=True)
    avatar = AvatarSerializer(source="avatar_id", read_only=True, allow_null=True)
    avatar_id = serializers.UUIDField(
        write_only=True,
        required=False,
        allow_null=True,
        help_text="Id of an image you uploaded (POST /api/v1/media) to use as avatar; null removes it.",
    )

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "display_name",
            "bio",
            "avatar",
            "avatar_id",
            "last_seen",
            "phone",
            "email",
            "date_joined",
        ]
        read_only_fields = ["id", "last_seen", "phone", "date_joined"]
        extra_kwargs = {"username": {"required": False}}

    def to_representation(self, user: User) -> dict:
        return me_payload(user)


class RegisterSerializer(serializers.Serializer):
    username = USERNAME_FIELD
    password = serializers.CharField(write_only=True, max_length=128, style={"input_type": "password"})
    phone = PhoneField(required=False)
    email = serializers.EmailField(required=False)
    display_name = serializers.CharField(required=False, max_length=64, allow_blank=True)


class LoginSerializer(serializers.Serializer):
    identifier = serializers.CharField(max_length=254, help_text="Username, phone (E.164) or email.")
    password = serializers.CharField(max_length=128, style={"input_type": "password"})
    device_name = serializers.CharField(required=False, max_length=100, allow_blank=True, default="")


class OtpRequestSerializer(serializers.Serializer):
    phone = PhoneField()


class OtpRequestResponseSerializer(serializers.Serializer):
    expires_in = serializers.IntegerField(help_text="Seconds the code stays valid.")
    resend_after = serializers.IntegerField(help_text="Seconds before another code may be requested.")


class OtpVerifySerializer(serializers.Serializer):
    phone = PhoneField()
    code = serializers.RegexField(r"^\d{6}$", help_text="The 6-digit code from the SMS.")
    device_name = serializers.CharField(required=False, max_length=100, allow_blank=True, default="")


class RefreshSerializer(serializers.Serializer):
    refresh = serializers.CharField()


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField(help_text="Short-lived JWT for `Authorization: Bearer`.")
    refresh = serializers.CharField(help_text="Single-use; exchange at /auth/refresh for a new pair.")


class AuthResultSerializer(TokenPairSerializer):
    user = MeSerializer()
    session_id = serializers.CharField()


class WsTicketSerializer(serializers.Serializer):
    ticket = serializers.CharField(help_text="Pass as `/ws/?ticket=...`; valid once.")
    expires_in = serializers.IntegerField()


class DeviceSessionSerializer(serializers.ModelSerializer):
    id = serializers.CharField(read_only=True)
    current = serializers.SerializerMethodField()

    class Meta:
        model = DeviceSession
        fields = ["id", "device_name", "user_agent", "ip_address", "created_at", "last_used_at", "current"]
        read_only_fields = fields

    def get_current(self, session: DeviceSession) -> bool:
        return session.pk == self.context["current_session_id"]


class ContactSerializer(serializers.ModelSerializer):
    user = UserSerializer(source="contact", read_only=True)

    class Meta:
        model = Contact
        fields = ["id", "user", "name", "created_at"]
        read_only_fields = fields


class ContactCreateSerializer(serializers.Serializer):
    user_id = serializers.UUIDField(required=False)
    phone = PhoneField(required=False)
    name = serializers.CharField(required=False, max_length=64, allow_blank=True, default="")

    def validate(self, attrs):
        if bool(attrs.get("user_id")) == bool(attrs.get("phone")):
            raise serializers.ValidationError("Give exactly one of user_id or phone.", code="invalid")
        return attrs


class ContactSyncSerializer(serializers.Serializer):
    phones = serializers.ListField(
        child=serializers.CharField(max_length=32),
        help_text=f"Up to {settings.CONTACT_SYNC_MAX_PHONES} numbers from the device's address book.",
    )


class ContactSyncMatchSerializer(serializers.Serializer):
    phone = serializers.CharField(help_text="The number as it was sent.")
    user = UserSerializer()


class ContactSyncResultSerializer(serializers.Serializer):
    matches = ContactSyncMatchSerializer(many=True)


class BlockSerializer(serializers.ModelSerializer):
    user = UserSerializer(source="blocked", read_only=True)

    class Meta:
        model = Block
        fields = ["user", "created_at"]
        read_only_fields = fields


class BlockCreateSerializer(serializers.Serializer):
    user_id = serializers.UUIDField()
