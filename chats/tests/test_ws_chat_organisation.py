"""Chat organisation on the socket: chat:settings, its event on the user's other devices, the replay of
every new event after a disconnect, joining by link as members see it, and the presence snapshot."""

import pytest
from channels.db import database_sync_to_async

from accounts.models import Contact
from accounts.tests.factories import UserFactory
from chats import services
from chats.models import ChatMember, StreamEvent
from chats.tests.factories import direct_chat, group_chat
from chats.tests.ws import connect
from conftest import auth_client_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio, pytest.mark.usefixtures("ws_cleanup")]
db = database_sync_to_async


class TestSettingsFrame:
    async def test_ack_to_the_socket_and_the_event_to_the_users_other_devices(self, alice, bob):
        chat = await db(direct_chat)(alice, bob)
        phone, laptop, peer = (
            await connect(alice, device="phone"),
            await connect(alice, device="laptop"),
            await connect(bob),
        )
        reply = await phone.request("chat:settings", {"chat_id": str(chat.pk), "muted_until": "9999-12-31T23:59:59Z"})
        assert reply["type"] == "ack"
        expected = {
            "chat_id": str(chat.pk),
            "muted_until": "9999-12-31T23:59:59Z",
            "archived": False,
            "pinned": False,
            "pinned_at": None,
        }
        assert reply["data"] == expected
        assert (await laptop.receive_type("chat:settings_updated"))["data"] == expected
        assert await phone.nothing() and await peer.nothing()

    async def test_bad_input_and_rules_answer_their_codes_and_store_nothing(self, alice, bob, carol, settings):
        chat = await db(direct_chat)(alice, bob)
        theirs = await db(direct_chat)(bob, carol)
        socket, other = await connect(alice), await connect(alice, device="other")
        for data, code in (
            ({}, "validation_error"),
            ({"chat_id": "nope"}, "validation_error"),
            ({"chat_id": str(chat.pk), "archived": "maybe"}, "validation_error"),
            ({"chat_id": str(chat.pk), "muted_until": "tomorrow"}, "validation_error"),
            ({"chat_id": str(chat.pk), "archived": True, "pinned": True}, "validation_error"),
            ({"chat_id": str(theirs.pk), "archived": True}, "not_found"),
        ):
            reply = await socket.request("chat:settings", data)
            assert (reply["type"], reply["data"]["code"]) == ("error", code), data
        settings.CHAT_MAX_PINNED = 0
        reply = await socket.request("chat:settings", {"chat_id": str(chat.pk), "pinned": True})
        assert reply["data"] == {**reply["data"], "code": "too_many_pinned", "details": {"max": 0}}
        member = await db(ChatMember.objects.get)(chat=chat, user=alice)
        assert (member.muted_until, member.archived_seq, member.pinned_at) == (None, None, None)
        assert await other.nothing()


class TestReplay:
    async def test_every_new_event_is_replayed_after_a_disconnect(self, alice, bob):
        """A device that was away catches up on settings, folders, invites and joins, over the socket
        and over GET /api/v1/sync alike."""
        chat = await db(direct_chat)(alice, bob)
        group = await db(group_chat)(alice, [bob], title="Team")
        away = await connect(alice, device="away")
        cursor = away.ready["data"]["cursor"]
        await away.close()

        await db(services.chat_settings_update)(user=alice, chat_id=chat.pk, pinned=True)
        folder = await db(services.folder_create)(owner=alice, name="F", chat_ids=[chat.pk])
        await db(services.folder_reorder)(owner=alice, folder_ids=[folder.pk])
        await db(services.folder_update)(owner=alice, folder_id=folder.pk, name="G")
        await db(services.folder_delete)(owner=alice, folder_id=folder.pk)
        invite = await db(services.invite_create)(chat=group, actor=alice)
        newcomer = await db(UserFactory)()
        await db(services.invite_join)(user=newcomer, code=invite.code)
        await db(services.invite_revoke)(chat=group, actor=alice, code=invite.code)
        await db(services.chat_member_remove)(chat=group, actor=bob, user_id=bob.pk)
        # bob's own settings are bob's: alice's devices never see them.
        await db(services.chat_settings_update)(user=bob, chat_id=chat.pk, archived=True)
        expected = [
            "chat:settings_updated",
            "folder:created",
            "folder:updated",
            "folder:deleted",
            "chat:invite_created",
            "chat:member_added",
            "message:new",
            "chat:invite_revoked",
            "chat:member_removed",
            "message:new",  # the member_removed system message
        ]

        back = await connect(alice, device="away")
        ref = await back.send("sync:request", {"cursor": cursor})
        replayed = []
        while (frame := await back.receive())["type"] != "sync:done":
            replayed.append(frame)
        assert (await back.reply(ref))["type"] == "ack"
        assert [frame["type"] for frame in replayed] == expected
        assert replayed[6]["data"]["system"]["event"] == "member_joined_by_link"

        client = await db(lambda: auth_client_for(alice)[0])()
        page = (await db(client.get)("/api/v1/sync", {"cursor": cursor})).json()
        assert [event["type"] for event in page["events"]] == expected
        assert [event["data"] for event in page["events"]] == [frame["data"] for frame in replayed]


class TestJoinByLinkLive:
    async def test_members_see_the_newcomer_and_the_newcomer_gets_the_chat_from_there(self, alice, bob):
        group = await db(group_chat)(alice, [bob])
        invite = await db(services.invite_create)(chat=group, actor=alice)
        newcomer = await db(UserFactory)()
        owner, member, joining = await connect(alice), await connect(bob), await connect(newcomer)
        await db(services.invite_join)(user=newcomer, code=invite.code)
        for client in (owner, member, joining):
            added = await client.receive_type("chat:member_added")
            assert added["data"]["member"]["user"]["id"] == str(newcomer.pk)
            system = await client.receive_type("message:new")
            assert system["data"]["system"]["event"] == "member_joined_by_link"
        reply = await joining.request("message:send", {"chat_id": str(group.pk), "client_id": "hi", "text": "hi"})
        assert reply["type"] == "ack"


class TestPresenceSnapshot:
    async def test_ready_lists_online_direct_peers_and_contacts_only(self, alice, bob, carol):
        peer_online, peer_offline, contact, co_member, stranger = [await db(UserFactory)() for _ in range(5)]
        await db(direct_chat)(alice, peer_online)
        await db(direct_chat)(alice, peer_offline)
        await db(Contact.objects.create)(owner=alice, contact=contact)
        await db(group_chat)(co_member, [alice])
        for user in (peer_online, contact, co_member, stranger):
            await connect(user)
        socket = await connect(alice)
        assert sorted(socket.ready["data"]["online_user_ids"]) == sorted([str(peer_online.pk), str(contact.pk)])

    async def test_changes_after_the_snapshot_arrive_as_events(self, alice, bob):
        await db(direct_chat)(alice, bob)
        socket = await connect(alice)
        assert socket.ready["data"]["online_user_ids"] == []
        peer = await connect(bob)
        assert (await socket.receive_type("presence:update"))["data"]["status"] == "online"
        assert (await connect(alice, device="second")).ready["data"]["online_user_ids"] == [str(bob.pk)]
        await peer.close()
        assert (await socket.receive_type("presence:update"))["data"]["status"] == "offline"
        assert (await connect(alice, device="third")).ready["data"]["online_user_ids"] == []

    async def test_user_profile_has_online(self, alice, bob):
        client = await db(lambda: auth_client_for(alice)[0])()
        profile = (await db(client.get)(f"/api/v1/users/{bob.pk}")).json()
        assert profile["online"] is False and profile["id"] == str(bob.pk)
        socket = await connect(bob)
        assert (await db(client.get)(f"/api/v1/users/{bob.pk}")).json()["online"] is True
        await socket.close()
        assert (await db(client.get)(f"/api/v1/users/{bob.pk}")).json()["online"] is False
        assert await db(StreamEvent.objects.filter(type__startswith="presence").exists)() is False
