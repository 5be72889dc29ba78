"""Placeholder; replaced by the real-time core."""

from channels.generic.websocket import AsyncJsonWebsocketConsumer


class ClientConsumer(AsyncJsonWebsocketConsumer):
    pass
