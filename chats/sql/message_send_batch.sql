-- chats_message_send_batch: store messages, each with its own outcome; the only writer of messages.
--
-- REST and the WebSocket send through it (chats.services.messages.message_send, via
-- chats.send_batch): a batch of the sends that arrived while the process's previous batch was being
-- stored, or a batch of one. One call is one transaction: one stream-order lock, one NOTIFY and one
-- commit (one WAL flush) for all its messages, which is what lets concurrent sends share a flush.
--
-- Returns one row per message, in the order given: status 'ok' (stored: seq, event id, message id),
-- 'duplicate' (the sender's client_id was used before in this chat: the stored message's id) or the
-- error code that Python raises for it: not_found, client_id_reused, forbidden, blocked,
-- invalid_reply, forward_not_found, attachment_not_found. The checks are a user's send's (kind
-- text); what the server records in the timeline (kind system or call:
-- chats.services.messages.message_record) only needs its chat to exist.
--
-- A forward (a source message id given) copies that message's files: they must be its files, where
-- a user's own send may only carry the sender's uploads, and the source must still be visible to the
-- sender (a member of its chat, not deleted for everyone or for them). Mentions and the forward's
-- origin are resolved by Python (chats.services.messages) and stored as given; ordinary sends carry
-- neither (their array elements 12-14 are absent).
--
-- Lock order: chat rows in chat id order (each message's forward source and attachments, in pk
-- order, just before its chat), then the stream-order lock, so concurrent batches (and the other
-- writers, one chat per transaction) cannot deadlock over chat rows. Within a chat, stream order is
-- seq order.
CREATE OR REPLACE FUNCTION chats_message_send_batch(
    p_messages jsonb,
    p_lock_key bigint,
    p_notify_channel text,
    p_notify_tag text
) RETURNS TABLE (status text, seq bigint, event_id bigint, message_id uuid)
LANGUAGE plpgsql AS $$
DECLARE
    -- p_messages: [[id, chat_id, sender_id, client_id, text, reply_to, created_at, payload, origin,
    --               attachment_ids, kind, system_json (, mention_ids, forward_of, forwarded_from_json)], ...]
    m_ids uuid[];
    m_chat_ids uuid[];
    m_sender_ids uuid[];
    m_client_ids varchar[];
    m_texts text[];
    m_reply_tos uuid[];
    m_created_ats timestamptz[];
    m_payloads jsonb[];
    m_origins varchar[];
    m_attachments jsonb[];
    m_kinds varchar[];
    m_systems text[];
    m_mentions jsonb[];
    m_forwards uuid[];
    m_forwarded_froms text[];
    v_attachment_ids uuid[];
    v_found integer;
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
           array_agg(e->7 ORDER BY o), array_agg(e->>8 ORDER BY o), array_agg(coalesce(e->9, '[]') ORDER BY o),
           array_agg(coalesce(e->>10, 'text') ORDER BY o), array_agg(e->>11 ORDER BY o),
           array_agg(e->12 ORDER BY o), array_agg((e->>13)::uuid ORDER BY o), array_agg(e->>14 ORDER BY o)
      INTO m_ids, m_chat_ids, m_sender_ids, m_client_ids, m_texts, m_reply_tos, m_created_ats, m_payloads,
           m_origins, m_attachments, m_kinds, m_systems, m_mentions, m_forwards, m_forwarded_froms
      FROM jsonb_array_elements(p_messages) WITH ORDINALITY AS x(e, o);

    -- Checks, seqs and message rows, in chat id order (then as given): one lock order for all.
    FOR i IN
        SELECT u.ord FROM unnest(m_chat_ids) WITH ORDINALITY AS u(chat_id, ord) ORDER BY u.chat_id, u.ord
    LOOP
        -- What the server records in the timeline (kind system or call) was allowed by the service
        -- that records it, inside its own transaction: only the chat has to exist.
        IF m_kinds[i] <> 'text' THEN
            IF NOT EXISTS (SELECT 1 FROM chats_chat c WHERE c.id = m_chat_ids[i] AND c.deleted_at IS NULL) THEN
                v_status[i] := 'not_found';
                CONTINUE;
            END IF;
        ELSE
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

            -- A forward's source, still visible to the sender. Key-share locked: deleting it for
            -- everyone (which erases its files) waits for this commit, or this sees it deleted.
            IF m_forwards[i] IS NOT NULL THEN
                PERFORM 1 FROM chats_message s
                  JOIN chats_chatmember sm ON sm.chat_id = s.chat_id AND sm.user_id = m_sender_ids[i]
                  JOIN chats_chat sc ON sc.id = s.chat_id AND sc.deleted_at IS NULL
                 WHERE s.id = m_forwards[i] AND s.deleted_at IS NULL
                   AND NOT EXISTS (
                       SELECT 1 FROM chats_messagehidden h WHERE h.user_id = m_sender_ids[i] AND h.message_id = s.id
                   )
                   FOR KEY SHARE OF s;
                IF NOT FOUND THEN
                    v_status[i] := 'forward_not_found';
                    CONTINUE;
                END IF;
            END IF;

            -- The sender's own uploads, or a forward's source's files (Python read them to build the
            -- payload; checked again here, under a lock taken in pk order as media_cleanup takes it,
            -- so none is deleted before commit).
            IF jsonb_array_length(m_attachments[i]) > 0 THEN
                v_attachment_ids := ARRAY(SELECT x::uuid FROM jsonb_array_elements_text(m_attachments[i]) AS x);
                SELECT count(*) INTO v_found FROM (
                    SELECT 1 FROM media_attachment a
                     WHERE a.id = ANY (v_attachment_ids)
                       AND CASE WHEN m_forwards[i] IS NULL THEN a.uploader_id = m_sender_ids[i]
                                ELSE EXISTS (SELECT 1 FROM chats_messageattachment l
                                              WHERE l.message_id = m_forwards[i] AND l.attachment_id = a.id) END
                     ORDER BY a.id FOR NO KEY UPDATE
                ) AS locked;
                IF v_found <> cardinality(v_attachment_ids) THEN
                    v_status[i] := 'attachment_not_found';
                    CONTINUE;
                END IF;
            END IF;
        END IF;

        -- The chat row stays locked until commit: concurrent senders get consecutive seqs.
        UPDATE chats_chat SET last_seq = last_seq + 1, last_activity_at = m_created_ats[i]
         WHERE id = m_chat_ids[i] RETURNING last_seq INTO v_next_seq;
        v_seq[i] := v_next_seq;

        -- A concurrent send with the same client_id raises unique_violation here and the whole
        -- batch rolls back (no gap in the seqs); the caller then sends each message alone.
        INSERT INTO chats_message (id, chat_id, seq, sender_id, client_id, kind, text, system_json, reply_to_id,
                                   mention_ids, forwarded_from_json, created_at)
        VALUES (m_ids[i], m_chat_ids[i], v_next_seq, m_sender_ids[i], m_client_ids[i], m_kinds[i], m_texts[i],
                m_systems[i], m_reply_tos[i],
                CASE WHEN m_mentions[i] IS NULL OR jsonb_typeof(m_mentions[i]) <> 'array' THEN NULL
                     ELSE ARRAY(SELECT x::uuid FROM jsonb_array_elements_text(m_mentions[i]) AS x) END,
                m_forwarded_froms[i], m_created_ats[i]);
        IF jsonb_array_length(m_attachments[i]) > 0 THEN
            INSERT INTO chats_messageattachment (message_id, attachment_id, position)
            SELECT m_ids[i], x.id::uuid, x.ord - 1
              FROM jsonb_array_elements_text(m_attachments[i]) WITH ORDINALITY AS x(id, ord);
        END IF;
        v_status[i] := 'ok';
        v_message[i] := m_ids[i];
    END LOOP;

    -- The events in the order given (chats_stream_append takes the stream-order lock; the ids are
    -- consecutive, as the lock is held while they are drawn), then one wake-up naming the last id:
    -- the sending process skips the read (chats.stream_tail).
    IF 'ok' = ANY (v_status) THEN
        FOR i IN 1 .. n LOOP
            IF v_status[i] = 'ok' THEN
                v_last_event := chats_stream_append(
                    'message:new', m_chat_ids[i], NULL, m_payloads[i] || jsonb_build_object('seq', v_seq[i]),
                    m_origins[i], m_created_ats[i], p_lock_key, NULL, NULL);
                v_event[i] := v_last_event;
            END IF;
        END LOOP;
        PERFORM pg_notify(p_notify_channel, v_last_event::text || ' ' || p_notify_tag);
    END IF;

    RETURN QUERY SELECT v_status[k], v_seq[k], v_event[k], v_message[k] FROM generate_series(1, n) AS k;
END
$$;
