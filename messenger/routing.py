"""WebSocket URL routing: one socket per client device at /ws/."""

from django.urls import path

from messenger.consumers import ClientConsumer

websocket_urlpatterns = [path("ws/", ClientConsumer.as_asgi())]
