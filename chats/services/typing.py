"""Typing indicators: ephemeral, kept per process, never stored.

A socket typing in a chat is typing until it says it stopped, it closes, or it sends no refresh
for TYPING_TIMEOUT_SECONDS. typing:start goes to the chat's other members when a socket starts
(a refresh sends nothing), typing:stop when it stops for any of those reasons.
"""

import asyncio

from django.conf import settings

from chats import errors
from chats.events import typing_changed
from chats.stream_tail import StreamTail
from messenger import realtime
from messenger.ws_protocol import Socket


async def typing_set(*, user_id: str, chat_id: str, typing: bool, origin: str) -> None:
    """`origin` (a socket of this process, by name) starts or stops typing in `chat_id`.

    The membership check and the recipients come from the stream tail's map, without a query per
    frame; a chat the user is not in is not_found.
    """
    runtime = realtime.current()
    if runtime is None or not runtime.get(StreamTail).is_member(user_id=user_id, chat_id=chat_id):
        raise errors.chat_not_found()
    tracker = runtime.get(TypingTracker)
    if typing:
        await tracker.typing_started(origin=origin, user_id=user_id, chat_id=chat_id)
    else:
        await tracker.typing_stopped(origin=origin, chat_id=chat_id)


class TypingTracker(realtime.Component):
    """Who is typing where on this process, with each typer's timeout. A component of the runtime."""

    def __init__(self, runtime: realtime.Runtime) -> None:
        super().__init__(runtime)
        self._typing: dict[tuple[str, str], tuple[str, asyncio.TimerHandle]] = {}  # (origin, chat) -> user, timer

    async def typing_started(self, *, origin: str, user_id: str, chat_id: str) -> None:
        key = (origin, chat_id)
        already = self._typing.pop(key, None)
        if already is not None:
            already[1].cancel()
        timer = self.runtime.loop.call_later(settings.TYPING_TIMEOUT_SECONDS, self._timed_out, origin, chat_id)
        self._typing[key] = (user_id, timer)
        if already is None:
            await self._announce(user_id=user_id, chat_id=chat_id, typing=True)

    def _timed_out(self, origin: str, chat_id: str) -> None:
        self.runtime.run_soon("typing timeout", self.typing_stopped(origin=origin, chat_id=chat_id))

    async def typing_stopped(self, *, origin: str, chat_id: str) -> None:
        typing = self._typing.pop((origin, chat_id), None)
        if typing is None:
            return
        user_id, timer = typing
        timer.cancel()
        await self._announce(user_id=user_id, chat_id=chat_id, typing=False)

    async def _announce(self, *, user_id: str, chat_id: str, typing: bool) -> None:
        audience = await self.runtime.get(StreamTail).chat_audience(chat_id)
        recipients = [member for member in audience if member != user_id]
        await typing_changed(chat_id=chat_id, user_id=user_id, typing=typing, recipients=recipients)

    async def detach(self, socket: Socket) -> None:
        """A socket that closes stops typing everywhere."""
        for origin, chat_id in [key for key in self._typing if key[0] == socket.channel_name]:
            await self.typing_stopped(origin=origin, chat_id=chat_id)

    async def stop(self) -> None:
        for _, timer in self._typing.values():
            timer.cancel()
        self._typing.clear()
