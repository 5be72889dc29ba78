"""ASGI entry point: HTTP through Django (history pages may take a shortcut), WebSockets at /ws/ through Channels."""

import gc
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "messenger.settings")

from django.core.asgi import get_asgi_application

# Django must be set up before anything imports models (the routing does).
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402
from django.urls import get_resolver  # noqa: E402

from accounts.ws_auth import WebSocketAuthMiddleware  # noqa: E402
from chats.history_fast import HistoryFastPath  # noqa: E402
from messenger.routing import websocket_urlpatterns  # noqa: E402
from messenger.ws_handshake import BrowserOriginValidator  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": HistoryFastPath(django_asgi_app),
        "websocket": BrowserOriginValidator(
            WebSocketAuthMiddleware(URLRouter(websocket_urlpatterns)),
            settings.ALLOWED_ORIGINS,
        ),
    }
)

# What is loaded by now lives as long as the process. Out of the garbage collector's sight, a
# full collection walks only what was allocated since, instead of the whole heap, so it does not
# pause every request and frame for as long (bench/RESULTS.md).
get_resolver().url_patterns  # noqa: B018 - imports the views now rather than on the first request
gc.freeze()
