"""PostgreSQL: chats_message_send_batch stores several messages in one transaction.

It replaces migration 0004's chats_message_send (one message per call) with the same rules and
outcomes per message, taking the messages as one JSON array (one array of arguments per message:
one parameter, cheap for the driver to send) and returning one row per message, in the order
given. One call is one transaction: one stream-order lock, one NOTIFY and one commit
(one WAL flush) for the whole batch. The stream-order lock is held through the commit's flush, so
with one message per transaction the flushes ran one after another and bounded the send rate
(bench S1); a server process now sends the messages that arrive while its previous batch is
being stored as one batch (chats.send_batch). A single message is a batch of one.

Lock order: the chat rows are locked in chat id order, then the stream-order lock is taken, so
concurrent batches (and the ORM's one-chat transactions) cannot deadlock over chat rows. The
events are inserted in the order given, so within a chat stream order is seq order, and their
ids are consecutive (the lock is held while they are drawn).

SQLite: nothing to do.
"""

import importlib

from django.db import migrations

DROP = "DROP FUNCTION IF EXISTS chats_message_send_batch(jsonb, bigint, text, text);"

CREATE = """
CREATE OR REPLACE FUNCTION chats_message_send_batch(
    p_messages jsonb,
    p_lock_key bigint,
    p_notify_channel text,
    p_notify_tag text
) RETURNS TABLE (status text, seq bigint, event_id bigint, message_id uuid)
LANGUAGE plpgsql AS $$
DECLARE
    -- p_messages: [[id, chat_id, sender_id, client_id, text, reply_to, created_at, payload, origin], ...]
    m_ids uuid[];
    m_chat_ids uuid[];
    m_sender_ids uuid[];
    m_client_ids varchar[];
    m_texts text[];
    m_reply_tos uuid[];
    m_created_ats timestamptz[];
    m_payloads jsonb[];
    m_origins varchar[];
    n integer := jsonb_array_length(p_messages);
    v_status text[] := array_fill(NULL::text, ARRAY[n]);
    v_seq bigint[] := array_fill(NULL::bigint, ARRAY[n]);
    v_event bigint[] := array_fill(NULL::bigint, ARRAY[n]);
    v_message uuid[] := array_fill(NULL::uuid, ARRAY[n]);
    i integer;
    v_type varchar;
    v_role varchar;
    v_direct_key varchar;
    v_peer uuid;
    v_existing uuid;
    v_existing_chat uuid;
    v_next_seq bigint;
    v_last_event bigint;
BEGIN
    SELECT array_agg((e->>0)::uuid ORDER BY o), array_agg((e->>1)::uuid ORDER BY o),
           array_agg((e->>2)::uuid ORDER BY o), array_agg(e->>3 ORDER BY o), array_agg(e->>4 ORDER BY o),
           array_agg((e->>5)::uuid ORDER BY o), array_agg((e->>6)::timestamptz ORDER BY o),
           array_agg(e->7 ORDER BY o), array_agg(e->>8 ORDER BY o)
      INTO m_ids, m_chat_ids, m_sender_ids, m_client_ids, m_texts, m_reply_tos, m_created_ats, m_payloads,
           m_origins
      FROM jsonb_array_elements(p_messages) WITH ORDINALITY AS x(e, o);

    -- Checks, seqs and message rows, in chat id order (then as given): one lock order for all.
    FOR i IN
        SELECT u.ord FROM unnest(m_chat_ids) WITH ORDINALITY AS u(chat_id, ord) ORDER BY u.chat_id, u.ord
    LOOP
        SELECT c.type, m.role, c.direct_key INTO v_type, v_role, v_direct_key
          FROM chats_chatmember m JOIN chats_chat c ON c.id = m.chat_id
         WHERE m.chat_id = m_chat_ids[i] AND m.user_id = m_sender_ids[i] AND c.deleted_at IS NULL;
        IF NOT FOUND THEN
            v_status[i] := 'not_found';
            CONTINUE;
        END IF;

        -- Also finds a message stored earlier in this batch (a retry sent before its ack).
        SELECT m.id, m.chat_id INTO v_existing, v_existing_chat
          FROM chats_message m WHERE m.sender_id = m_sender_ids[i] AND m.client_id = m_client_ids[i];
        IF FOUND THEN
            IF v_existing_chat <> m_chat_ids[i] THEN
                v_status[i] := 'client_id_reused';
            ELSE
                v_status[i] := 'duplicate';
                v_message[i] := v_existing;
            END IF;
            CONTINUE;
        END IF;

        IF v_type = 'channel' AND v_role = 'member' THEN
            v_status[i] := 'forbidden';
            CONTINUE;
        END IF;

        IF v_type = 'direct' AND v_direct_key IS NOT NULL THEN
            v_peer := CASE WHEN split_part(v_direct_key, ':', 1)::uuid = m_sender_ids[i]
                           THEN split_part(v_direct_key, ':', 2)::uuid
                           ELSE split_part(v_direct_key, ':', 1)::uuid END;
            IF EXISTS (
                SELECT 1 FROM accounts_block b
                 WHERE (b.blocker_id = m_sender_ids[i] AND b.blocked_id = v_peer)
                    OR (b.blocker_id = v_peer AND b.blocked_id = m_sender_ids[i])
            ) THEN
                v_status[i] := 'blocked';
                CONTINUE;
            END IF;
        END IF;

        IF m_reply_tos[i] IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM chats_message m WHERE m.id = m_reply_tos[i] AND m.chat_id = m_chat_ids[i]
        ) THEN
            v_status[i] := 'invalid_reply';
            CONTINUE;
        END IF;

        -- The chat row stays locked until commit: concurrent senders get consecutive seqs.
        UPDATE chats_chat SET last_seq = last_seq + 1, last_activity_at = m_created_ats[i]
         WHERE id = m_chat_ids[i] RETURNING last_seq INTO v_next_seq;
        v_seq[i] := v_next_seq;

        -- A concurrent send with the same client_id raises unique_violation here and the whole
        -- batch rolls back (no gap in the seqs); the caller then sends each message alone.
        INSERT INTO chats_message (id, chat_id, seq, sender_id, client_id, text, reply_to_id, created_at)
        VALUES (m_ids[i], m_chat_ids[i], v_next_seq, m_sender_ids[i], m_client_ids[i], m_texts[i],
                m_reply_tos[i], m_created_ats[i]);
        v_status[i] := 'ok';
        v_message[i] := m_ids[i];
    END LOOP;

    -- The stream-order lock (as in chats.events.stream_event_record), then the events in the
    -- order given, then one wake-up naming the last id: the sending process skips the read.
    IF 'ok' = ANY (v_status) THEN
        PERFORM pg_advisory_xact_lock(p_lock_key);
        FOR i IN 1 .. n LOOP
            IF v_status[i] = 'ok' THEN
                INSERT INTO chats_streamevent (type, chat_id, user_id, payload, origin, created_at)
                VALUES ('message:new', m_chat_ids[i], NULL, m_payloads[i] || jsonb_build_object('seq', v_seq[i]),
                        m_origins[i], m_created_ats[i])
                RETURNING id INTO v_last_event;
                v_event[i] := v_last_event;
            END IF;
        END LOOP;
        PERFORM pg_notify(p_notify_channel, v_last_event::text || ' ' || p_notify_tag);
    END IF;

    RETURN QUERY SELECT v_status[k], v_seq[k], v_event[k], v_message[k] FROM generate_series(1, n) AS k;
END
$$;
"""


def _previous():
    return importlib.import_module("chats.migrations.0004_message_send_notifies_event_id")


def create_function(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(_previous().DROP)
        schema_editor.execute(CREATE)


def restore_previous(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)
        schema_editor.execute(_previous().CREATE)


class Migration(migrations.Migration):
    dependencies = [("chats", "0004_message_send_notifies_event_id")]

    operations = [migrations.RunPython(create_function, restore_previous, elidable=False)]
