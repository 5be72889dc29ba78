"""ASGI entry point: HTTP through Django, WebSockets at /ws/ through Channels."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "messenger.settings")

from django.core.asgi import get_asgi_application

# Django must be set up before anything imports models (the routing does).
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from messenger.routing import websocket_urlpatterns  # noqa: E402
from messenger.ws_auth import BrowserOriginValidator, WebSocketAuthMiddleware  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": BrowserOriginValidator(
            WebSocketAuthMiddleware(URLRouter(websocket_urlpatterns)),
            settings.ALLOWED_ORIGINS,
        ),
    }
)
