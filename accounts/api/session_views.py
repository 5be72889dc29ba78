"""The caller's device sessions: list them, end one."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors, services
from accounts.api import serializers as s
from messenger.api.schema import AUTH_ERRORS, errors


@extend_schema(tags=["auth"])
class SessionListView(APIView):
    @extend_schema(
        responses={200: s.DeviceSessionSerializer(many=True), **AUTH_ERRORS},
        summary="List the caller's active device sessions",
    )
    def get(self, request: Request) -> Response:
        sessions = selectors.session_list(user=request.user)
        data = s.DeviceSessionSerializer(sessions, many=True, context={"current_session_id": request.auth.pk}).data
        return Response(data)


@extend_schema(tags=["auth"])
class SessionDetailView(APIView):
    @extend_schema(
        responses={204: None, **AUTH_ERRORS, **errors(e404="not_found")},
        summary="End one of the caller's sessions (closes its live sockets)",
    )
    def delete(self, request: Request, session_id) -> Response:
        session = selectors.session_get(user=request.user, session_id=session_id)
        services.session_revoke(session=session, reason="revoked")
        return Response(status=status.HTTP_204_NO_CONTENT)
