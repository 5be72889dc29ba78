"""PostgreSQL: chats_message_send's NOTIFY names the new event and the process that sent it.

A server process learns of its own WebSocket sends from the function's result and delivers them
without reading them back (chats.stream); the NOTIFY payload, "<event id> <server id>", lets it
skip the read for those and lets the others know what they are missing. The new argument
`p_notify_tag` is the sending process's id ('' for REST sends, which every process reads).
Otherwise the function is migration 0002's. SQLite: nothing to do.
"""

import importlib

from django.db import migrations

DROP = (
    "DROP FUNCTION IF EXISTS chats_message_send(uuid, uuid, uuid, varchar, text, uuid, timestamptz, jsonb, varchar, "
    "bigint, text, text);"
)

CREATE = """
CREATE OR REPLACE FUNCTION chats_message_send(
    p_message_id uuid,
    p_chat_id uuid,
    p_sender_id uuid,
    p_client_id varchar,
    p_text text,
    p_reply_to uuid,
    p_created_at timestamptz,
    p_payload jsonb,
    p_origin varchar,
    p_lock_key bigint,
    p_notify_channel text,
    p_notify_tag text
) RETURNS TABLE (status text, seq bigint, event_id bigint, message_id uuid)
LANGUAGE plpgsql AS $$
DECLARE
    v_type varchar;
    v_role varchar;
    v_direct_key varchar;
    v_peer uuid;
    v_seq bigint;
    v_event bigint;
    v_existing uuid;
    v_existing_chat uuid;
BEGIN
    SELECT c.type, m.role, c.direct_key INTO v_type, v_role, v_direct_key
      FROM chats_chatmember m JOIN chats_chat c ON c.id = m.chat_id
     WHERE m.chat_id = p_chat_id AND m.user_id = p_sender_id AND c.deleted_at IS NULL;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'not_found'::text, NULL::bigint, NULL::bigint, NULL::uuid;
        RETURN;
    END IF;

    SELECT m.id, m.chat_id INTO v_existing, v_existing_chat
      FROM chats_message m WHERE m.sender_id = p_sender_id AND m.client_id = p_client_id;
    IF FOUND THEN
        IF v_existing_chat <> p_chat_id THEN
            RETURN QUERY SELECT 'client_id_reused'::text, NULL::bigint, NULL::bigint, NULL::uuid;
        ELSE
            RETURN QUERY SELECT 'duplicate'::text, NULL::bigint, NULL::bigint, v_existing;
        END IF;
        RETURN;
    END IF;

    IF v_type = 'channel' AND v_role = 'member' THEN
        RETURN QUERY SELECT 'forbidden'::text, NULL::bigint, NULL::bigint, NULL::uuid;
        RETURN;
    END IF;

    IF v_type = 'direct' AND v_direct_key IS NOT NULL THEN
        v_peer := CASE WHEN split_part(v_direct_key, ':', 1)::uuid = p_sender_id
                       THEN split_part(v_direct_key, ':', 2)::uuid
                       ELSE split_part(v_direct_key, ':', 1)::uuid END;
        IF EXISTS (
            SELECT 1 FROM accounts_block b
             WHERE (b.blocker_id = p_sender_id AND b.blocked_id = v_peer)
                OR (b.blocker_id = v_peer AND b.blocked_id = p_sender_id)
        ) THEN
            RETURN QUERY SELECT 'blocked'::text, NULL::bigint, NULL::bigint, NULL::uuid;
            RETURN;
        END IF;
    END IF;

    IF p_reply_to IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM chats_message m WHERE m.id = p_reply_to AND m.chat_id = p_chat_id
    ) THEN
        RETURN QUERY SELECT 'invalid_reply'::text, NULL::bigint, NULL::bigint, NULL::uuid;
        RETURN;
    END IF;

    -- The chat row stays locked until commit: concurrent senders get consecutive seqs.
    UPDATE chats_chat SET last_seq = last_seq + 1, last_activity_at = p_created_at
     WHERE id = p_chat_id RETURNING last_seq INTO v_seq;

    -- A concurrent send with the same client_id raises unique_violation here; the caller
    -- treats it as a duplicate, and the rollback leaves no gap in the seqs.
    INSERT INTO chats_message (id, chat_id, seq, sender_id, client_id, text, reply_to_id, created_at)
    VALUES (p_message_id, p_chat_id, v_seq, p_sender_id, p_client_id, p_text, p_reply_to, p_created_at);

    -- The stream-order lock (as in chats.events.stream_event_record), then the event, then the
    -- wake-up naming its id: a process that already delivered it (its own send) skips the read.
    PERFORM pg_advisory_xact_lock(p_lock_key);
    INSERT INTO chats_streamevent (type, chat_id, user_id, payload, origin, created_at)
    VALUES ('message:new', p_chat_id, NULL, p_payload || jsonb_build_object('seq', v_seq), p_origin, p_created_at)
    RETURNING id INTO v_event;
    PERFORM pg_notify(p_notify_channel, v_event::text || ' ' || p_notify_tag);

    RETURN QUERY SELECT 'ok'::text, v_seq, v_event, p_message_id;
END
$$;
"""


def _previous():
    return importlib.import_module("chats.migrations.0002_message_send_function")


def create_function(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(_previous().DROP)
        schema_editor.execute(CREATE)


def restore_previous(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)
        schema_editor.execute(_previous().CREATE)


class Migration(migrations.Migration):
    dependencies = [("chats", "0003_lean_hot_path_indexes")]

    operations = [migrations.RunPython(create_function, restore_previous, elidable=False)]
