"""Chat folder endpoints. Thin: parse, call a selector or service, shape the answer."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chats import selectors, services
from chats.api import serializers as s
from messenger.api.schema import AUTH_ERRORS, errors

NOT_FOUND = errors(e404="not_found")


@extend_schema(tags=["folders"])
class FolderListView(APIView):
    @extend_schema(responses={200: s.FolderSerializer(many=True), **AUTH_ERRORS}, summary="Your folders, in order")
    def get(self, request: Request) -> Response:
        return Response(s.FolderSerializer(selectors.folder_queryset(owner=request.user), many=True).data)

    @extend_schema(
        request=s.FolderCreateSerializer,
        responses={
            201: s.FolderSerializer,
            **AUTH_ERRORS,
            **errors(e400="validation_error, too_many_folders", e404="not_found (details.chat_ids)"),
        },
        summary="Create a folder (it goes last)",
    )
    def post(self, request: Request) -> Response:
        serializer = s.FolderCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        folder = services.folder_create(owner=request.user, **serializer.validated_data)
        return Response(s.FolderSerializer(folder).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["folders"])
class FolderDetailView(APIView):
    @extend_schema(
        request=s.FolderUpdateSerializer,
        responses={
            200: s.FolderSerializer,
            **AUTH_ERRORS,
            **errors(e400="validation_error", e404="not_found (the folder, or details.chat_ids)"),
        },
        summary="Rename a folder or replace its chats",
    )
    def patch(self, request: Request, folder_id) -> Response:
        serializer = s.FolderUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        folder = services.folder_update(owner=request.user, folder_id=folder_id, **serializer.validated_data)
        return Response(s.FolderSerializer(folder).data)

    @extend_schema(responses={204: None, **AUTH_ERRORS, **NOT_FOUND}, summary="Delete a folder (not its chats)")
    def delete(self, request: Request, folder_id) -> Response:
        services.folder_delete(owner=request.user, folder_id=folder_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["folders"])
class FolderOrderView(APIView):
    @extend_schema(
        request=s.FolderOrderSerializer,
        responses={200: s.FolderSerializer(many=True), **AUTH_ERRORS, **errors(e400="validation_error")},
        summary="Reorder your folders (name each of them once)",
    )
    def post(self, request: Request) -> Response:
        serializer = s.FolderOrderSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        folders = services.folder_reorder(owner=request.user, **serializer.validated_data)
        return Response(s.FolderSerializer(folders, many=True).data)
