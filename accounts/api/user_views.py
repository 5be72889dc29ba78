"""Profiles: the caller's own, other users', and user search."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors, services
from accounts.api import serializers as s
from accounts.payloads import user_profile_payload
from chats import selectors as chat_selectors
from messenger.api.pagination import DefaultCursorPagination
from messenger.api.schema import AUTH_ERRORS, errors


@extend_schema(tags=["users"])
class MeView(APIView):
    @extend_schema(responses={200: s.MeSerializer, **AUTH_ERRORS}, summary="The caller's profile")
    def get(self, request: Request) -> Response:
        return Response(s.MeSerializer(request.user).data)

    @extend_schema(
        request=s.MeSerializer,
        responses={
            200: s.MeSerializer,
            **AUTH_ERRORS,
            **errors(e400="validation_error, username_taken, email_taken, invalid_avatar"),
        },
        summary="Edit the caller's profile",
    )
    def patch(self, request: Request) -> Response:
        serializer = s.MeSerializer(request.user, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        user = services.user_update(user=request.user, **serializer.validated_data)
        return Response(s.MeSerializer(user).data)


@extend_schema(tags=["users"])
class UserDetailView(APIView):
    @extend_schema(
        responses={200: s.UserProfileSerializer, **AUTH_ERRORS, **errors(e404="not_found")},
        summary="A user's public profile, and whether they are online",
    )
    def get(self, request: Request, user_id) -> Response:
        user = selectors.user_get(user_id=user_id)
        # Presence lives with the sockets, in the chats app (chats.services.presence).
        return Response(user_profile_payload(user, online=chat_selectors.user_is_online(user_id=user.pk)))


class UsernamePagination(DefaultCursorPagination):
    ordering = "username"


@extend_schema(tags=["users"])
class UserSearchView(ListAPIView):
    serializer_class = s.UserSerializer
    pagination_class = UsernamePagination

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "q", str, required=True, description="Part of a username or display name, or an exact phone."
            )
        ],
        responses={200: s.UserSerializer(many=True), **AUTH_ERRORS},
        summary="Search users",
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        return selectors.user_search(query=self.request.query_params.get("q", ""), viewer=self.request.user)
