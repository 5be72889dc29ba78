"""The bare reference: a minimal `websockets` relay that speaks the product's message framing.

    python -m bench.relay --port 9001 --mode memory
    python -m bench.relay --port 9002 --mode postgres --dsn postgresql://postgres@127.0.0.1/messenger_bench

A client connects to /ws/?user=<user id>&chats=<chat id>,<chat id> (the product ignores that query
string; the relay has no accounts, so that is how it learns who is who and who is in which chat).
The first frame is `ready`. A `message:send` frame gets an `ack` with the stored message, and one
`message:new` frame, encoded once, goes to every other socket of the chat's members - the same
frames the product sends. In `postgres` mode each message is first inserted (autocommit, one
statement) through a psycopg async pool; that is the floor of a server that stores before it
delivers. Nothing else: no auth check, no ordering guarantees across processes, no history.
"""

import argparse
import asyncio
import contextlib
import datetime
import itertools
import json
import signal
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.exceptions import ConnectionClosed

CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS bench_relay_message (
    id uuid PRIMARY KEY,
    chat_id uuid NOT NULL,
    seq bigint NOT NULL,
    sender_id uuid NOT NULL,
    client_id varchar(64) NOT NULL,
    text text NOT NULL,
    created_at timestamptz NOT NULL,
    UNIQUE (chat_id, seq)
)
"""
INSERT = (
    "INSERT INTO bench_relay_message (id, chat_id, seq, sender_id, client_id, text, created_at) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s)"
)


def _dumps(frame: dict[str, Any]) -> str:
    return json.dumps(frame, separators=(",", ":"))


class Relay:
    """Who is connected, who is in which chat, and the forwarding of one message."""

    def __init__(self, pool=None) -> None:
        self.pool = pool
        self.sockets: dict[str, set[ServerConnection]] = {}
        self.members: dict[str, set[str]] = {}
        self.seqs: dict[str, itertools.count] = {}
        self.cursor = itertools.count(1)

    async def handle(self, socket: ServerConnection) -> None:
        query = parse_qs(urlsplit(socket.request.path).query)
        user_id = query.get("user", [""])[0]
        chat_ids = [chat for chat in query.get("chats", [""])[0].split(",") if chat]
        if not user_id:
            await socket.close(4401, "user required")
            return
        self.sockets.setdefault(user_id, set()).add(socket)
        for chat_id in chat_ids:
            self.members.setdefault(chat_id, set()).add(user_id)
        try:
            await socket.send(_dumps({"type": "ready", "data": {"user": {"id": user_id}, "cursor": 0}}))
            async for text in socket:
                await self.receive(socket, user_id, text)
        except ConnectionClosed:
            pass
        finally:
            sockets = self.sockets.get(user_id, set())
            sockets.discard(socket)
            if not sockets:
                self.sockets.pop(user_id, None)
                for chat_id in chat_ids:
                    self.members.get(chat_id, set()).discard(user_id)

    async def receive(self, socket: ServerConnection, user_id: str, text: str | bytes) -> None:
        frame = json.loads(text)
        ref = frame.get("ref")
        data = frame.get("data") or {}
        chat_id = str(data.get("chat_id", ""))
        if frame.get("type") != "message:send" or user_id not in self.members.get(chat_id, ()):
            error = {"code": "not_found", "message": "No such chat.", "details": None}
            await socket.send(_dumps({"type": "error", "ref": ref, "data": error}))
            return
        seq = next(self.seqs.setdefault(chat_id, itertools.count(1)))
        message = {
            "id": str(uuid.uuid4()),
            "chat_id": chat_id,
            "seq": seq,
            "sender_id": user_id,
            "client_id": str(data.get("client_id", "")),
            "text": str(data.get("text", "")),
            "reply_to_id": None,
            "attachments": [],
            "created_at": datetime.datetime.now(datetime.UTC).isoformat(),
            "edited_at": None,
            "deleted": False,
        }
        if self.pool is not None:
            async with self.pool.connection() as connection:
                await connection.execute(
                    INSERT,
                    [
                        message["id"],
                        chat_id,
                        seq,
                        user_id,
                        message["client_id"],
                        message["text"],
                        message["created_at"],
                    ],
                )
        await socket.send(_dumps({"type": "ack", "ref": ref, "data": {"message": message, "duplicate": False}}))
        recipients = [
            other
            for member in self.members.get(chat_id, ())
            for other in self.sockets.get(member, ())
            if other is not socket
        ]
        broadcast(recipients, _dumps({"type": "message:new", "cursor": next(self.cursor), "data": message}))


async def _open_pool(dsn: str, size: int):
    from psycopg_pool import AsyncConnectionPool

    pool = AsyncConnectionPool(dsn, min_size=size, max_size=size, kwargs={"autocommit": True}, open=False)
    await pool.open(wait=True, timeout=30)
    async with pool.connection() as connection:
        await connection.execute(CREATE_TABLE)
    return pool


async def main() -> None:
    parser = argparse.ArgumentParser(description="Bare websockets relay (bench reference).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mode", choices=["memory", "postgres"], default="memory")
    parser.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/messenger_bench")
    parser.add_argument("--pool-size", type=int, default=10)
    args = parser.parse_args()
    pool = await _open_pool(args.dsn, args.pool_size) if args.mode == "postgres" else None
    relay = Relay(pool)
    stop = asyncio.get_running_loop().create_future()
    for signum in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(signum, lambda: stop.done() or stop.set_result(None))
    # Same frame limit as the product; server pings stay on, as daphne's do.
    async with serve(relay.handle, args.host, args.port, max_size=64 * 1024, compression=None):
        await stop
    if pool is not None:
        with contextlib.suppress(Exception):
            await pool.close(timeout=2)


if __name__ == "__main__":
    asyncio.run(main())
