-- chats_stream_append: append one durable event to the stream; the only writer of its rows.
--
-- Called last in the writing transaction (chats.events.stream_event_record, and the send function
-- for each message it stores). Event ids come from a sequence, so two transactions could commit
-- them out of order and a reader at `id > cursor` would skip the late one forever: the
-- transaction-scoped advisory lock taken here, just before the insert and held until commit, makes
-- id order commit order. Taking it again in the same transaction is free.
--
-- p_notify_channel NULL: no NOTIFY (the caller sends one for several events). Otherwise the
-- wake-up '<event id> <p_notify_tag>' is sent, which PostgreSQL delivers at commit and drops on
-- rollback (chats.stream_tail).
CREATE OR REPLACE FUNCTION chats_stream_append(
    p_type varchar,
    p_chat_id uuid,
    p_user_id uuid,
    p_payload jsonb,
    p_origin varchar,
    p_created_at timestamptz,
    p_lock_key bigint,
    p_notify_channel text,
    p_notify_tag text
) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(p_lock_key);
    INSERT INTO chats_streamevent (type, chat_id, user_id, payload, origin, created_at)
    VALUES (p_type, p_chat_id, p_user_id, p_payload, p_origin, p_created_at)
    RETURNING id INTO v_id;
    IF p_notify_channel IS NOT NULL THEN
        PERFORM pg_notify(p_notify_channel, v_id::text || ' ' || p_notify_tag);
    END IF;
    RETURN v_id;
END
$$;
