"""Create the bench's users, sessions, chats and message history in the bench database.

Run by bench/run.py in its own process with DJANGO_SETTINGS_MODULE and DATABASE_URL pointing at
the bench database (after `manage.py migrate`). Users and sessions are bulk-inserted and tokens
minted with the product's own `token_pair_issue` (registering thousands of users over REST would
spend minutes in Argon2); direct chats go through the product's service so they look exactly like
real ones. The history chat's messages are inserted with one SQL statement.

Writes a JSON fixture the load generator reads: user ids and access tokens per role, chat ids.
"""

import argparse
import json
import os
import sys
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _django_setup() -> None:
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "messenger.settings")
    import django

    django.setup()


def _users(prefix: str, count: int) -> list[dict[str, str]]:
    """Insert `count` users, one device session each; return [{id, token}]."""
    from accounts.models import DeviceSession, User
    from accounts.tokens import token_pair_issue

    users = [User(username=f"{prefix}{index}", password="!bench-unusable") for index in range(count)]  # noqa: S106
    User.objects.bulk_create(users, batch_size=2000)
    sessions = [DeviceSession(user=user, device_name="bench", refresh_jti=uuid.uuid4().hex) for user in users]
    DeviceSession.objects.bulk_create(sessions, batch_size=2000)
    return [{"id": str(session.user_id), "token": token_pair_issue(session=session).access} for session in sessions]


def _direct_chat(first: dict[str, str], second: dict[str, str]) -> str:
    from accounts.models import User
    from chats.services import chat_direct_get_or_create

    chat, _ = chat_direct_get_or_create(user=User.objects.get(pk=first["id"]), other_user_id=second["id"])
    return str(chat.pk)


def _history(chat_id: str, sender_id: str, count: int) -> None:
    from django.db import connection

    from chats.models import Chat, Message

    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Message._meta.db_table} (id, chat_id, seq, sender_id, client_id, text, created_at) "  # noqa: S608
            "SELECT gen_random_uuid(), %s, g, %s, 'history-' || g, "
            "'history message number ' || g || ' with a little text to look like a chat line', "
            "now() - make_interval(secs => %s - g) FROM generate_series(1, %s) AS g",
            [chat_id, sender_id, count, count],
        )
    Chat.objects.filter(pk=chat_id).update(last_seq=count)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Message._meta.db_table}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="where to write the JSON fixture")
    parser.add_argument("--pairs", type=int, default=50)
    parser.add_argument("--group-users", type=int, default=1000)
    parser.add_argument("--idle-users", type=int, default=10_100)
    parser.add_argument("--history", type=int, default=100_000)
    parser.add_argument("--call-pairs", type=int, default=500)
    args = parser.parse_args()
    _django_setup()
    started = time.perf_counter()

    pair_users = _users("bench_pair_", 2 * args.pairs)
    pairs = []
    for index in range(args.pairs):
        first, second = pair_users[2 * index], pair_users[2 * index + 1]
        pairs.append({"a": first, "b": second, "chat_id": _direct_chat(first, second)})
    call_users = _users("bench_call_", 2 * args.call_pairs)
    call_pairs = []
    for index in range(args.call_pairs):
        first, second = call_users[2 * index], call_users[2 * index + 1]
        call_pairs.append({"a": first, "b": second, "chat_id": _direct_chat(first, second)})
    group_users = _users("bench_group_", args.group_users)
    idle_users = _users("bench_idle_", args.idle_users)
    reader, writer = _users("bench_history_", 2)
    history_chat = _direct_chat(reader, writer)
    _history(history_chat, writer["id"], args.history)

    fixture = {
        "pairs": pairs,
        "call_pairs": call_pairs,
        "group_users": group_users,
        # The bare relay learns group membership from the connect URL, so its groups get fixed ids.
        "relay_group_ids": {str(size): str(uuid.uuid4()) for size in (100, 1000)},
        "idle_users": idle_users,
        "history": {"chat_id": history_chat, "reader": reader, "messages": args.history},
    }
    Path(args.out).write_text(json.dumps(fixture))
    print(
        f"setup_data: {2 * (args.pairs + args.call_pairs) + args.group_users + args.idle_users + 2} users, "
        f"{args.pairs} pairs, {args.call_pairs} call pairs, "
        f"{args.history} history messages in {time.perf_counter() - started:.1f}s",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
