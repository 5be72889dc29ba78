"""One channel-layer subscription per process: the dispatcher joins the groups of the users and
sessions it holds sockets for, and relays what arrives to exactly those sockets.

The cross-process path (two real servers on Redis) is covered by tests/e2e; here the in-memory
layer lets the tests look at group membership directly.
"""

import asyncio

import pytest
from channels.layers import channel_layers, get_channel_layer

from chats.stream import dispatcher_for_running_loop
from messenger.realtime import session_group, user_group

pytestmark = pytest.mark.django_db(transaction=True)


class FakeSocket:
    def __init__(self, user, session: str) -> None:
        self.user_id = str(user.pk)
        self.session_id = session
        self.channel_name = f"fake.{user.pk}.{session}"
        self.frames: list[str] = []
        self.ended = False

    async def push_stream_frame(self, event_id: int, frame: str | None) -> None:
        pass

    async def push_ephemeral_frame(self, frame: str) -> None:
        self.frames.append(frame)

    async def end_session(self) -> None:
        self.ended = True


@pytest.fixture
def layer(settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    channel_layers.backends.clear()
    return get_channel_layer()


def _members(layer, group: str) -> set[str]:
    return set(layer.groups.get(group, {}))


async def _settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0.01)


async def test_the_process_channel_is_in_each_group_once_and_leaves_with_the_last_socket(layer, alice, bob):
    dispatcher = dispatcher_for_running_loop()
    phone, laptop, bobs = FakeSocket(alice, "s-phone"), FakeSocket(alice, "s-laptop"), FakeSocket(bob, "s-bob")
    for socket in (phone, laptop, bobs):
        await dispatcher.register(socket)
    channel = dispatcher.layer_channel
    assert channel is not None
    for group in (user_group(alice.pk), user_group(bob.pk), session_group("s-phone"), session_group("s-laptop")):
        assert _members(layer, group) == {channel}, group

    await dispatcher.unregister(phone)
    assert _members(layer, session_group("s-phone")) == set()
    assert _members(layer, user_group(alice.pk)) == {channel}  # the laptop is still here
    await dispatcher.unregister(laptop)
    assert _members(layer, user_group(alice.pk)) == set()
    await dispatcher.unregister(bobs)
    assert not any(layer.groups.values())


async def test_events_reach_every_socket_of_their_user_and_session_ends_only_that_session(layer, alice, bob):
    dispatcher = dispatcher_for_running_loop()
    phone, laptop, bobs = FakeSocket(alice, "s-phone"), FakeSocket(alice, "s-laptop"), FakeSocket(bob, "s-bob")
    for socket in (phone, laptop, bobs):
        await dispatcher.register(socket)
    try:
        frame = '{"type":"typing:start","data":{}}'
        await layer.group_send(user_group(alice.pk), {"type": "client.event", "user_id": str(alice.pk), "frame": frame})
        await layer.group_send(session_group("s-phone"), {"type": "session.revoked", "session_id": "s-phone"})
        await _settle()
        assert phone.frames == laptop.frames == [frame]
        assert bobs.frames == []
        assert (phone.ended, laptop.ended, bobs.ended) == (True, False, False)
    finally:
        for socket in (phone, laptop, bobs):
            await dispatcher.unregister(socket)


async def test_memberships_are_renewed_before_the_layer_forgets_them(layer, alice):
    dispatcher = dispatcher_for_running_loop()
    phone = FakeSocket(alice, "s-phone")
    await dispatcher.register(phone)
    try:
        layer.groups[user_group(alice.pk)].clear()  # as if expired (channel layers drop them after a day)
        layer.groups[session_group("s-phone")].clear()
        await dispatcher.refresh_groups()
        assert (
            _members(layer, user_group(alice.pk))
            == _members(layer, session_group("s-phone"))
            == {dispatcher.layer_channel}
        )
    finally:
        await dispatcher.unregister(phone)
