"""Contacts, address-book sync and blocks."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors, services
from accounts.api import serializers as s
from messenger.api.schema import AUTH_ERRORS, errors


@extend_schema(tags=["contacts"])
class ContactListView(ListAPIView):
    serializer_class = s.ContactSerializer

    def get_queryset(self):
        return selectors.contact_list(owner=self.request.user)

    @extend_schema(responses={200: s.ContactSerializer(many=True), **AUTH_ERRORS}, summary="List contacts")
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=s.ContactCreateSerializer,
        responses={
            201: s.ContactSerializer,
            200: s.ContactSerializer,
            **AUTH_ERRORS,
            **errors(e400="validation_error, cannot_target_self", e404="not_found"),
        },
        summary="Add a contact by user id or phone (200 if already a contact)",
    )
    def post(self, request: Request) -> Response:
        serializer = s.ContactCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if data.get("user_id"):
            target = selectors.user_get(user_id=data["user_id"])
        else:
            target = selectors.user_get_by_phone(phone=data["phone"])
        contact, created = services.contact_add(owner=request.user, contact=target, name=data["name"])
        return Response(s.ContactSerializer(contact).data, status=status.HTTP_201_CREATED if created else 200)


@extend_schema(tags=["contacts"])
class ContactDetailView(APIView):
    @extend_schema(responses={204: None, **AUTH_ERRORS, **errors(e404="not_found")}, summary="Remove a contact")
    def delete(self, request: Request, contact_id: int) -> Response:
        services.contact_remove(contact=selectors.contact_get(owner=request.user, contact_id=contact_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["contacts"])
class ContactSyncView(APIView):
    @extend_schema(
        request=s.ContactSyncSerializer,
        responses={
            200: s.ContactSyncResultSerializer,
            **AUTH_ERRORS,
            **errors(e400="validation_error, too_many_phones"),
        },
        summary="Find which address-book numbers are registered; adds them as contacts",
    )
    def post(self, request: Request) -> Response:
        serializer = s.ContactSyncSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        matches = services.contacts_sync(owner=request.user, phones=serializer.validated_data["phones"])
        return Response({"matches": [{"phone": phone, "user": s.UserSerializer(user).data} for phone, user in matches]})


@extend_schema(tags=["contacts"])
class BlockListView(ListAPIView):
    serializer_class = s.BlockSerializer

    def get_queryset(self):
        return selectors.block_list(blocker=self.request.user)

    @extend_schema(responses={200: s.BlockSerializer(many=True), **AUTH_ERRORS}, summary="List blocked users")
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=s.BlockCreateSerializer,
        responses={
            201: s.BlockSerializer,
            200: s.BlockSerializer,
            **AUTH_ERRORS,
            **errors(e400="validation_error, cannot_target_self", e404="not_found"),
        },
        summary="Block a user (200 if already blocked)",
    )
    def post(self, request: Request) -> Response:
        serializer = s.BlockCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        target = selectors.user_get(user_id=serializer.validated_data["user_id"])
        block, created = services.block_add(blocker=request.user, blocked=target)
        return Response(s.BlockSerializer(block).data, status=status.HTTP_201_CREATED if created else 200)


@extend_schema(tags=["contacts"])
class BlockDetailView(APIView):
    @extend_schema(responses={204: None, **AUTH_ERRORS, **errors(e404="not_found")}, summary="Unblock a user")
    def delete(self, request: Request, user_id) -> Response:
        services.block_remove(block=selectors.block_get(blocker=request.user, blocked_id=user_id))
        return Response(status=status.HTTP_204_NO_CONTENT)
