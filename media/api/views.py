"""Media REST endpoints. Thin: parse, call a service or selector, shape the answer."""

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import UserRateThrottle
from rest_framework.views import APIView

from media import selectors, services
from media.api import serializers as s
from media.api.downloads import attachment_file_response
from media.api.upload_handlers import UploadLimitHandler, upload_body_max_bytes
from messenger.api.parsers import MultiPartParser
from messenger.api.schema import AUTH_ERRORS, errors

NOT_FOUND = errors(e404="not_found")
FILE_RESPONSES = {
    (200, "application/octet-stream"): OpenApiResponse(
        OpenApiTypes.BINARY,
        description="The bytes, with `Content-Disposition: attachment` (local storage).",
    ),
    302: OpenApiResponse(description="Redirect to a short-lived presigned URL (S3 storage)."),
    **AUTH_ERRORS,
    **NOT_FOUND,
}


class UploadThrottle(UserRateThrottle):
    scope = "media_upload"
    rate = settings.MEDIA_UPLOAD_RATE


class AnyAcceptNegotiation(BaseContentNegotiation):
    """File endpoints answer bytes or a redirect whatever the client accepts (errors stay JSON)."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


@extend_schema(tags=["media"])
class AttachmentUploadView(APIView):
    parser_classes = [MultiPartParser]
    throttle_classes = [UploadThrottle]

    # The server reads no longer body for this endpoint (messenger/daphne_limits.py).
    request_body_max_bytes = staticmethod(upload_body_max_bytes)

    @extend_schema(
        request={"multipart/form-data": s.AttachmentUploadSerializer},
        responses={
            201: s.AttachmentSerializer,
            **AUTH_ERRORS,
            **errors(
                e400="validation_error, unsupported_type, invalid_file, image_too_large",
                e413="file_too_large, quota_exceeded",
                e429="throttled",
            ),
        },
        summary="Upload a file (multipart/form-data, field `file`)",
        description="Allowed types, size limits and the quota are listed in docs/media.md.",
    )
    def post(self, request: Request) -> Response:
        # Must be in place before request.data is touched: it refuses oversized bodies mid-stream.
        request.upload_handlers.insert(
            0,
            UploadLimitHandler(
                request,
                quota_bytes=settings.MEDIA_USER_QUOTA_BYTES,
                used_bytes=selectors.attachment_storage_used(uploader=request.user),
            ),
        )
        serializer = s.AttachmentUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = serializer.validated_data["file"]
        attachment = services.attachment_create(uploader=request.user, file=upload, filename=upload.name)
        return Response(s.AttachmentSerializer(attachment).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["media"])
class AttachmentDetailView(APIView):
    @extend_schema(
        responses={200: s.AttachmentSerializer, **AUTH_ERRORS, **NOT_FOUND},
        summary="An attachment's metadata (uploader, chat members, or anyone for avatars)",
    )
    def get(self, request: Request, attachment_id) -> Response:
        attachment = selectors.attachment_get_for_user(user=request.user, attachment_id=attachment_id)
        return Response(s.AttachmentSerializer(attachment).data)


@extend_schema(tags=["media"])
class AttachmentDownloadView(APIView):
    content_negotiation_class = AnyAcceptNegotiation

    @extend_schema(responses=FILE_RESPONSES, summary="Download an attachment")
    def get(self, request: Request, attachment_id) -> HttpResponse:
        attachment = selectors.attachment_get_for_user(user=request.user, attachment_id=attachment_id)
        return attachment_file_response(attachment)


@extend_schema(tags=["media"])
class AttachmentThumbnailView(APIView):
    content_negotiation_class = AnyAcceptNegotiation

    @extend_schema(responses=FILE_RESPONSES, summary="Download the small WebP version of an image attachment")
    def get(self, request: Request, attachment_id) -> HttpResponse:
        attachment = selectors.attachment_get_for_user(user=request.user, attachment_id=attachment_id)
        return attachment_file_response(attachment, thumbnail=True)
