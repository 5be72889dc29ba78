"""One channel-layer subscription per process: the relay joins the groups of the users and sessions
it holds sockets for, and hands what arrives to exactly those sockets.

The cross-process path (two real servers on Redis) is covered by tests/e2e; here the in-memory
layer lets the tests look at group membership directly.
"""

import asyncio

import pytest
from channels.layers import channel_layers, get_channel_layer

from messenger import realtime
from messenger.relay import publish_session_ended, publish_to_session, publish_to_users, session_group, user_group

pytestmark = pytest.mark.django_db(transaction=True)


class FakeSocket:
    def __init__(self, user, session: str) -> None:
        self.user_id = str(user.pk)
        self.session_id = session
        self.channel_name = f"fake.{user.pk}.{session}"
        self.ready_cursor = self.live_cursor = 0
        self.frames: list[str] = []
        self.ended = False

    async def push_stream_frame(self, event_id: int, frame: str | None) -> None:
        pass

    async def push_ephemeral_frame(self, frame: str) -> None:
        self.frames.append(frame)

    async def end_session(self) -> None:
        self.ended = True


@pytest.fixture
def alice(user):
    return user


@pytest.fixture
def bob(other_user):
    return other_user


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
    runtime = realtime.for_running_loop()
    phone, laptop, bobs = FakeSocket(alice, "s-phone"), FakeSocket(alice, "s-laptop"), FakeSocket(bob, "s-bob")
    for socket in (phone, laptop, bobs):
        await runtime.attach(socket)
    channel = runtime.relay.channel
    assert channel is not None
    for group in (user_group(alice.pk), user_group(bob.pk), session_group("s-phone"), session_group("s-laptop")):
        assert _members(layer, group) == {channel}, group

    await runtime.detach(phone)
    assert _members(layer, session_group("s-phone")) == set()
    assert _members(layer, user_group(alice.pk)) == {channel}  # the laptop is still here
    await runtime.detach(laptop)
    assert _members(layer, user_group(alice.pk)) == set()
    await runtime.detach(bobs)
    assert not any(layer.groups.values())


async def test_frames_reach_every_socket_of_their_user_or_their_session_and_ends_end_one_session(layer, alice, bob):
    runtime = realtime.for_running_loop()
    phone, laptop, bobs = FakeSocket(alice, "s-phone"), FakeSocket(alice, "s-laptop"), FakeSocket(bob, "s-bob")
    for socket in (phone, laptop, bobs):
        await runtime.attach(socket)
    try:
        frame = '{"type":"typing:start","data":{}}'
        await publish_to_users([alice.pk], frame)
        await publish_to_session("s-laptop", '{"type":"call:offer","data":{}}')
        await publish_session_ended("s-phone")
        await _settle()
        assert phone.frames == [frame]
        assert laptop.frames == [frame, '{"type":"call:offer","data":{}}']
        assert bobs.frames == []
        assert (phone.ended, laptop.ended, bobs.ended) == (True, False, False)
    finally:
        for socket in (phone, laptop, bobs):
            await runtime.detach(socket)


async def test_memberships_are_renewed_before_the_layer_forgets_them(layer, alice):
    runtime = realtime.for_running_loop()
    phone = FakeSocket(alice, "s-phone")
    await runtime.attach(phone)
    try:
        layer.groups[user_group(alice.pk)].clear()  # as if expired (channel layers drop them after a day)
        layer.groups[session_group("s-phone")].clear()
        await runtime.relay.refresh_groups()
        assert (
            _members(layer, user_group(alice.pk))
            == _members(layer, session_group("s-phone"))
            == {runtime.relay.channel}
        )
    finally:
        await runtime.detach(phone)
