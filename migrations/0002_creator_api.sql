-- The creator API: visibility, chat moderation, super chat tiers and
-- idempotency, co-host answers, viewer statistics and webhooks.
-- Same conventions as 0001 (text + CHECK, named constraints, timestamptz).

-- public: listed and readable by anyone; unlisted: readable by anyone who
-- has the id, never listed; private: only the owner and accepted hosts.
ALTER TABLE live_streams
    ADD COLUMN visibility text NOT NULL DEFAULT 'public',
    ADD CONSTRAINT live_streams_visibility_check
        CHECK (visibility IN ('public', 'unlisted', 'private')),
    -- Chat rules of the stream. Zero means no slow mode.
    ADD COLUMN chat_slow_mode_seconds integer NOT NULL DEFAULT 0,
    ADD CONSTRAINT live_streams_chat_slow_mode_check
        CHECK (chat_slow_mode_seconds BETWEEN 0 AND 3600),
    -- Lower-case words refused in chat messages of this stream.
    ADD COLUMN chat_banned_words text[] NOT NULL DEFAULT '{}',
    ADD CONSTRAINT live_streams_chat_banned_words_check
        CHECK (cardinality(chat_banned_words) <= 500);

-- "Public streams that are live now", for the directory listing.
CREATE INDEX live_streams_public_created_idx
    ON live_streams (created_at DESC, id DESC) WHERE visibility = 'public';

-- A ban keeps a user out of one stream's chat, until it expires (NULL: forever).
CREATE TABLE stream_chat_bans (
    stream_id  uuid        NOT NULL,
    user_id    uuid        NOT NULL,
    banned_by  uuid        NOT NULL,
    reason     text        NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz,
    CONSTRAINT stream_chat_bans_pkey PRIMARY KEY (stream_id, user_id),
    CONSTRAINT stream_chat_bans_stream_id_fkey
        FOREIGN KEY (stream_id) REFERENCES live_streams (id) ON DELETE CASCADE,
    CONSTRAINT stream_chat_bans_reason_check CHECK (char_length(reason) <= 500),
    CONSTRAINT stream_chat_bans_expires_check CHECK (expires_at IS NULL OR expires_at > created_at)
);

-- Super chats: the client's idempotency key (one per payment), the tier the
-- amount fell into when it was sent, and moderation that hides but keeps.
ALTER TABLE super_chats
    ADD COLUMN idempotency_key text,
    ADD COLUMN tier smallint NOT NULL DEFAULT 1,
    ADD COLUMN colour text NOT NULL DEFAULT '#1565C0',
    ADD COLUMN hidden_at timestamptz,
    ADD COLUMN hidden_by uuid,
    ADD COLUMN refunded_at timestamptz,
    ADD CONSTRAINT super_chats_idempotency_key_check
        CHECK (idempotency_key IS NULL OR char_length(idempotency_key) BETWEEN 1 AND 255),
    -- The same sender retrying the same payment gets the same row back.
    ADD CONSTRAINT super_chats_idempotency_key UNIQUE (sender_id, idempotency_key),
    ADD CONSTRAINT super_chats_tier_check CHECK (tier BETWEEN 1 AND 20),
    ADD CONSTRAINT super_chats_colour_check CHECK (colour ~ '^#[0-9A-Fa-f]{6}$'),
    ADD CONSTRAINT super_chats_hidden_check CHECK ((hidden_at IS NULL) = (hidden_by IS NULL)),
    ADD CONSTRAINT super_chats_refunded_check
        CHECK ((refunded_at IS NOT NULL) = (status = 'refunded'));

-- Newest first per stream, and the pinned ones.
CREATE INDEX super_chats_stream_newest_idx ON super_chats (stream_id, created_at DESC, id DESC);
CREATE INDEX super_chats_pinned_idx ON super_chats (stream_id, pinned_until)
    WHERE pinned_until IS NOT NULL;

-- Co-host invitations are answered: accepted or declined (and revoked by the owner).
ALTER TABLE stream_hosts
    ADD COLUMN declined_at timestamptz,
    ADD CONSTRAINT stream_hosts_declined_check
        CHECK (declined_at IS NULL OR (declined_at >= invited_at AND accepted_at IS NULL));

-- Viewer statistics, kept up to date by the server's viewer sweep so that
-- reading them is one row, not a count over sessions.
CREATE TABLE stream_viewer_stats (
    stream_id        uuid        NOT NULL,
    current_viewers  integer     NOT NULL DEFAULT 0,
    peak_viewers     integer     NOT NULL DEFAULT 0,
    unique_viewers   bigint      NOT NULL DEFAULT 0,
    watch_time_ms    bigint      NOT NULL DEFAULT 0,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT stream_viewer_stats_pkey PRIMARY KEY (stream_id),
    CONSTRAINT stream_viewer_stats_stream_id_fkey
        FOREIGN KEY (stream_id) REFERENCES live_streams (id) ON DELETE CASCADE,
    CONSTRAINT stream_viewer_stats_counts_check CHECK (
        current_viewers >= 0 AND peak_viewers >= current_viewers
        AND unique_viewers >= 0 AND watch_time_ms >= 0
    )
);

-- Webhook endpoints of an owner, and the outbox of deliveries to them. A
-- delivery row is written in the same transaction as the change it reports,
-- so no event is lost between the commit and the HTTP call.
CREATE TABLE webhook_endpoints (
    id          uuid        NOT NULL DEFAULT gen_random_uuid(),
    owner_id    uuid        NOT NULL,
    url         text        NOT NULL,
    -- HMAC-SHA256 key; shown to the owner once, at creation.
    secret      text        NOT NULL,
    event_types text[]      NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    disabled_at timestamptz,
    CONSTRAINT webhook_endpoints_pkey PRIMARY KEY (id),
    CONSTRAINT webhook_endpoints_url_check
        CHECK (char_length(url) <= 2000 AND url ~ '^https?://'),
    CONSTRAINT webhook_endpoints_event_types_check CHECK (
        cardinality(event_types) >= 1 AND event_types <@ ARRAY[
            'stream.started', 'stream.ended', 'recording.ready', 'super_chat.created'
        ]::text[]
    )
);

CREATE INDEX webhook_endpoints_owner_idx ON webhook_endpoints (owner_id, created_at DESC);

CREATE TABLE webhook_deliveries (
    id              uuid        NOT NULL DEFAULT gen_random_uuid(),
    endpoint_id     uuid        NOT NULL,
    event_type      text        NOT NULL,
    payload         jsonb       NOT NULL,
    status          text        NOT NULL DEFAULT 'pending',
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_attempt_at timestamptz,
    response_status integer,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    CONSTRAINT webhook_deliveries_pkey PRIMARY KEY (id),
    CONSTRAINT webhook_deliveries_endpoint_id_fkey
        FOREIGN KEY (endpoint_id) REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    CONSTRAINT webhook_deliveries_status_check
        CHECK (status IN ('pending', 'delivered', 'failed')),
    CONSTRAINT webhook_deliveries_attempts_check CHECK (attempts >= 0),
    CONSTRAINT webhook_deliveries_delivered_check
        CHECK ((delivered_at IS NOT NULL) = (status = 'delivered'))
);

-- The worker's queue: only what is still due.
CREATE INDEX webhook_deliveries_due_idx
    ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_endpoint_idx
    ON webhook_deliveries (endpoint_id, created_at DESC, id DESC);
