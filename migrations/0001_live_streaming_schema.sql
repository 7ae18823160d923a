-- The schema of nova-live: live streams and everything that hangs off them.
--
-- Conventions, so later migrations stay consistent:
-- * Enumerations are text + CHECK, not ENUM types: a new value is a
--   constraint swap in one transaction; ENUM values cannot be removed.
-- * Constraint names are part of the API: crates/api maps them to 409/422.
-- * Users live in the identity provider (the JWT `sub`), so user columns are
--   bare uuids with no foreign key.
-- * Every timestamp is timestamptz.

CREATE FUNCTION nova_touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

CREATE TABLE live_streams (
    id              uuid        NOT NULL DEFAULT gen_random_uuid(),
    owner_id        uuid        NOT NULL,
    title           text        NOT NULL,
    description     text        NOT NULL DEFAULT '',
    status          text        NOT NULL DEFAULT 'idle',
    -- The stream key is `nl_<stream_key_id>_<secret>`. The id is the public
    -- lookup half (safe to log); only SHA-256 of the secret is kept, so a
    -- database leak does not leak keys. A plain hash is enough because the
    -- secret is ≥ 190 random bits: there is nothing to brute-force.
    stream_key_id   text        NOT NULL,
    stream_key_hash bytea       NOT NULL,
    -- Per-stream overrides of the server's packaging defaults; absent keys
    -- mean "use the default", so an empty object is the norm.
    settings        jsonb       NOT NULL DEFAULT '{}'::jsonb,
    disabled_at     timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    -- Of the last live session: a stream goes live again after it ended.
    started_at      timestamptz,
    ended_at        timestamptz,
    CONSTRAINT live_streams_pkey PRIMARY KEY (id),
    -- Whitespace-only titles are as useless as empty ones.
    CONSTRAINT live_streams_title_check
        CHECK (char_length(title) BETWEEN 1 AND 200 AND title ~ '[^[:space:]]'),
    CONSTRAINT live_streams_description_check CHECK (char_length(description) <= 5000),
    CONSTRAINT live_streams_status_check CHECK (status IN ('idle', 'live', 'ended')),
    -- The key id goes into logs and URLs: keep it to a printable charset.
    CONSTRAINT live_streams_stream_key_id_check CHECK (stream_key_id ~ '^[0-9A-Za-z]{8,64}$'),
    CONSTRAINT live_streams_stream_key_hash_check CHECK (octet_length(stream_key_hash) = 32),
    CONSTRAINT live_streams_stream_key_id_key UNIQUE (stream_key_id),
    CONSTRAINT live_streams_settings_check CHECK (jsonb_typeof(settings) = 'object'),
    -- The timestamps agree with the status, so readers never see a live
    -- stream with an end time or an ended one that never started.
    CONSTRAINT live_streams_status_times_check CHECK (
        CASE status
            WHEN 'idle' THEN started_at IS NULL AND ended_at IS NULL
            WHEN 'live' THEN started_at IS NOT NULL AND ended_at IS NULL
            WHEN 'ended' THEN started_at IS NOT NULL AND ended_at IS NOT NULL
                AND ended_at >= started_at
        END
    )
);

-- "My streams, newest first" with keyset pagination on (created_at, id).
CREATE INDEX live_streams_owner_created_idx
    ON live_streams (owner_id, created_at DESC, id DESC);

-- Live streams are a handful among many: a partial index keeps "what is live
-- now" (and the startup sweep of streams a crash left live) cheap.
CREATE INDEX live_streams_live_idx
    ON live_streams (started_at DESC) WHERE status = 'live';

-- Only when something really changed, so a no-op UPDATE (a retried status
-- write, say) does not look like an edit.
CREATE TRIGGER live_streams_touch_updated_at
    BEFORE UPDATE ON live_streams
    FOR EACH ROW
    WHEN (OLD.* IS DISTINCT FROM NEW.*)
    EXECUTE FUNCTION nova_touch_updated_at();

-- One row per player session. Ephemeral analytics: deleted with the stream.
CREATE TABLE live_stream_viewers (
    id            uuid        NOT NULL DEFAULT gen_random_uuid(),
    stream_id     uuid        NOT NULL,
    -- NULL for anonymous viewers.
    viewer_id     uuid,
    -- Chosen by the player and repeated on every heartbeat, so a re-join
    -- after a network blip resumes its session instead of counting twice.
    session_token text        NOT NULL,
    joined_at     timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now(),
    left_at       timestamptz,
    CONSTRAINT live_stream_viewers_pkey PRIMARY KEY (id),
    CONSTRAINT live_stream_viewers_stream_id_fkey
        FOREIGN KEY (stream_id) REFERENCES live_streams (id) ON DELETE CASCADE,
    CONSTRAINT live_stream_viewers_session_token_check
        CHECK (char_length(session_token) BETWEEN 16 AND 128),
    CONSTRAINT live_stream_viewers_session_key UNIQUE (stream_id, session_token),
    CONSTRAINT live_stream_viewers_left_check CHECK (left_at IS NULL OR left_at >= joined_at),
    CONSTRAINT live_stream_viewers_seen_check CHECK (last_seen_at >= joined_at)
);

-- "Current viewers of stream X", and the sweep that closes sessions whose
-- heartbeat stopped: only open sessions are indexed.
CREATE INDEX live_stream_viewers_current_idx
    ON live_stream_viewers (stream_id, last_seen_at) WHERE left_at IS NULL;

-- "What did this user watch" (history, data export and erasure requests).
CREATE INDEX live_stream_viewers_viewer_idx
    ON live_stream_viewers (viewer_id, joined_at) WHERE viewer_id IS NOT NULL;

CREATE TABLE live_chat_messages (
    -- An identity key orders messages and pages through history. It is not
    -- commit order (concurrent inserts commit out of order), so live delivery
    -- goes through the event bus and this table is the history.
    id         bigint      GENERATED ALWAYS AS IDENTITY,
    stream_id  uuid        NOT NULL,
    author_id  uuid        NOT NULL,
    body       text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    -- Moderation hides a message and keeps it, with who did it, for appeals.
    deleted_at timestamptz,
    deleted_by uuid,
    CONSTRAINT live_chat_messages_pkey PRIMARY KEY (id),
    CONSTRAINT live_chat_messages_stream_id_fkey
        FOREIGN KEY (stream_id) REFERENCES live_streams (id) ON DELETE CASCADE,
    CONSTRAINT live_chat_messages_body_check
        CHECK (char_length(body) BETWEEN 1 AND 500 AND body ~ '[^[:space:]]'),
    CONSTRAINT live_chat_messages_deleted_check
        CHECK ((deleted_at IS NULL) = (deleted_by IS NULL))
);

CREATE INDEX live_chat_messages_stream_idx ON live_chat_messages (stream_id, id);
-- Moderators look up everything one user said.
CREATE INDEX live_chat_messages_author_idx ON live_chat_messages (author_id, id);

-- Paid messages. Money rows are never deleted along with a stream
-- (ON DELETE RESTRICT): refunds, disputes and accounting outlive the stream.
CREATE TABLE super_chats (
    id                uuid        NOT NULL DEFAULT gen_random_uuid(),
    stream_id         uuid        NOT NULL,
    sender_id         uuid        NOT NULL,
    -- Minor units (cents) in an integer: no float rounding on money.
    amount_minor      bigint      NOT NULL,
    currency          char(3)     NOT NULL,
    message           text        NOT NULL DEFAULT '',
    status            text        NOT NULL DEFAULT 'pending',
    -- The payment provider's id for this payment (or the idempotency key we
    -- sent it): unique, so a retried webhook or request cannot pay twice.
    payment_reference text        NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    paid_at           timestamptz,
    pinned_until      timestamptz,
    CONSTRAINT super_chats_pkey PRIMARY KEY (id),
    CONSTRAINT super_chats_stream_id_fkey
        FOREIGN KEY (stream_id) REFERENCES live_streams (id) ON DELETE RESTRICT,
    CONSTRAINT super_chats_amount_check CHECK (amount_minor > 0),
    -- ISO 4217 alphabetic codes are three upper-case letters.
    CONSTRAINT super_chats_currency_check CHECK (currency ~ '^[A-Z]{3}$'),
    CONSTRAINT super_chats_message_check CHECK (char_length(message) <= 500),
    CONSTRAINT super_chats_status_check
        CHECK (status IN ('pending', 'paid', 'refunded', 'failed')),
    CONSTRAINT super_chats_payment_reference_check
        CHECK (char_length(payment_reference) BETWEEN 1 AND 255),
    CONSTRAINT super_chats_payment_reference_key UNIQUE (payment_reference),
    -- Only money that arrived has a payment time (a refund follows a payment).
    CONSTRAINT super_chats_paid_at_check
        CHECK ((paid_at IS NOT NULL) = (status IN ('paid', 'refunded')))
);

CREATE INDEX super_chats_stream_idx ON super_chats (stream_id, created_at);
CREATE INDEX super_chats_sender_idx ON super_chats (sender_id);

-- Co-hosts and moderators of a stream. Re-inviting a revoked user updates
-- their row, so a user holds at most one role per stream.
CREATE TABLE stream_hosts (
    stream_id   uuid        NOT NULL,
    user_id     uuid        NOT NULL,
    role        text        NOT NULL,
    invited_by  uuid        NOT NULL,
    invited_at  timestamptz NOT NULL DEFAULT now(),
    accepted_at timestamptz,
    revoked_at  timestamptz,
    CONSTRAINT stream_hosts_pkey PRIMARY KEY (stream_id, user_id),
    CONSTRAINT stream_hosts_stream_id_fkey
        FOREIGN KEY (stream_id) REFERENCES live_streams (id) ON DELETE CASCADE,
    CONSTRAINT stream_hosts_role_check CHECK (role IN ('co_host', 'moderator')),
    CONSTRAINT stream_hosts_self_invite_check CHECK (user_id <> invited_by),
    CONSTRAINT stream_hosts_accepted_check CHECK (accepted_at IS NULL OR accepted_at >= invited_at),
    CONSTRAINT stream_hosts_revoked_check CHECK (revoked_at IS NULL OR revoked_at >= invited_at)
);

-- "Streams I co-host": the primary key only serves lookups by stream.
CREATE INDEX stream_hosts_user_idx ON stream_hosts (user_id);

-- One recording per packaging run of a stream (a publisher reconnect
-- continues the same run). RESTRICT from streams: the objects in storage
-- must be deleted through the DVR before any row that points at them goes.
CREATE TABLE stream_recordings (
    id          uuid        NOT NULL DEFAULT gen_random_uuid(),
    stream_id   uuid        NOT NULL,
    state       text        NOT NULL DEFAULT 'recording',
    started_at  timestamptz NOT NULL DEFAULT now(),
    ended_at    timestamptz,
    duration_ms bigint      NOT NULL DEFAULT 0,
    byte_size   bigint      NOT NULL DEFAULT 0,
    -- NULL keeps the recording until someone deletes it.
    expires_at  timestamptz,
    CONSTRAINT stream_recordings_pkey PRIMARY KEY (id),
    CONSTRAINT stream_recordings_stream_id_fkey
        FOREIGN KEY (stream_id) REFERENCES live_streams (id) ON DELETE RESTRICT,
    -- Target of stream_segments' composite key (see there).
    CONSTRAINT stream_recordings_id_stream_key UNIQUE (id, stream_id),
    CONSTRAINT stream_recordings_state_check
        CHECK (state IN ('recording', 'complete', 'failed', 'deleting')),
    CONSTRAINT stream_recordings_ended_check CHECK (ended_at IS NULL OR ended_at >= started_at),
    CONSTRAINT stream_recordings_complete_check CHECK (state <> 'complete' OR ended_at IS NOT NULL),
    CONSTRAINT stream_recordings_duration_check CHECK (duration_ms >= 0),
    CONSTRAINT stream_recordings_bytes_check CHECK (byte_size >= 0)
);

CREATE INDEX stream_recordings_stream_idx ON stream_recordings (stream_id, started_at DESC);

-- A stream is packaged by one run at a time, so it records into one
-- recording at a time; a second 'recording' row would be a bug.
CREATE UNIQUE INDEX stream_recordings_one_active_key
    ON stream_recordings (stream_id) WHERE state = 'recording';

-- The retention sweep reads only what can expire.
CREATE INDEX stream_recordings_expiry_idx
    ON stream_recordings (expires_at) WHERE expires_at IS NOT NULL;

-- The DVR index: one row per stored media segment.
CREATE TABLE stream_segments (
    id                bigint      GENERATED ALWAYS AS IDENTITY,
    -- Denormalized from the recording so DVR-window queries need no join.
    stream_id         uuid        NOT NULL,
    recording_id      uuid        NOT NULL,
    -- The ladder rung, e.g. 'source' or '720p'.
    rendition         text        NOT NULL,
    -- The media sequence number (RFC 8216 §4.3.3.2) within the recording.
    sequence          bigint      NOT NULL,
    -- Start in the recording's media timeline, for exact VOD playlists.
    media_start_ms    bigint      NOT NULL,
    -- Wall-clock time of the first frame (EXT-X-PROGRAM-DATE-TIME).
    program_date_time timestamptz NOT NULL,
    duration_ms       integer     NOT NULL,
    byte_size         bigint      NOT NULL,
    object_key        text        NOT NULL,
    discontinuity     boolean     NOT NULL DEFAULT false,
    created_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT stream_segments_pkey PRIMARY KEY (id),
    -- A composite key through the recording keeps stream_id honest (it can
    -- only be the recording's stream) and so also guarantees the stream.
    -- RESTRICT: segment rows go only after the DVR deleted their objects.
    CONSTRAINT stream_segments_recording_fkey
        FOREIGN KEY (recording_id, stream_id)
        REFERENCES stream_recordings (id, stream_id) ON DELETE RESTRICT,
    CONSTRAINT stream_segments_rendition_check CHECK (char_length(rendition) BETWEEN 1 AND 64),
    CONSTRAINT stream_segments_sequence_check CHECK (sequence >= 0),
    CONSTRAINT stream_segments_duration_check CHECK (duration_ms > 0),
    CONSTRAINT stream_segments_bytes_check CHECK (byte_size >= 0),
    -- Object store keys are relative '/'-separated paths.
    CONSTRAINT stream_segments_object_key_check
        CHECK (object_key <> '' AND object_key !~ '^/' AND object_key !~ '(^|/)\.\.(/|$)'),
    CONSTRAINT stream_segments_object_key_key UNIQUE (object_key),
    -- A retried upload must not index the same segment twice.
    CONSTRAINT stream_segments_sequence_key UNIQUE (recording_id, rendition, sequence)
);

-- DVR-window queries: "segments of stream X between two wall-clock times".
CREATE INDEX stream_segments_window_idx ON stream_segments (stream_id, program_date_time);
