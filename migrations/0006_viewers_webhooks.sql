-- Viewer statistics that stay cheap to keep: the viewer sweep folds each
-- session into stream_viewer_stats once, instead of counting sessions.
-- Same conventions as 0001 (text + CHECK, named constraints, timestamptz).

-- A player's session_token identifies it across re-joins. A re-join while
-- the session is open resumes it; one after it ended (left, or expired) is a
-- new session row with the same token, so each row is one continuous stretch
-- of watching and its watch time is simply its span. Uniqueness therefore
-- holds among open sessions only.
ALTER TABLE live_stream_viewers
    DROP CONSTRAINT live_stream_viewers_session_key;
CREATE UNIQUE INDEX live_stream_viewers_open_session_key
    ON live_stream_viewers (stream_id, session_token) WHERE left_at IS NULL;

ALTER TABLE live_stream_viewers
    -- Who is watching, for unique-viewer counts: a signed-in user by id
    -- (across devices and tokens), an anonymous player by its token.
    ADD COLUMN viewer_key text GENERATED ALWAYS AS (
        CASE WHEN viewer_id IS NULL THEN 'anon:' || session_token
             ELSE 'user:' || viewer_id::text END
    ) STORED,
    -- The sweep has added this closed session's watch time to the stream's
    -- statistics. Open sessions are never settled.
    ADD COLUMN settled boolean NOT NULL DEFAULT false,
    ADD CONSTRAINT live_stream_viewers_settled_check
        CHECK (NOT settled OR left_at IS NOT NULL);

-- Closed sessions still to be folded into the statistics: a handful at any
-- time (the sweep settles them within seconds), so a tiny index.
CREATE INDEX live_stream_viewers_unsettled_idx
    ON live_stream_viewers (stream_id) WHERE left_at IS NOT NULL AND NOT settled;

-- Every viewer a stream ever had, once: the sweep inserts the viewers of
-- the sessions it sees, and what is new is what it adds to unique_viewers.
-- last_broadcast_at says in which broadcast (live_streams.started_at) the
-- viewer was last counted, so each broadcast counts each viewer once too.
CREATE TABLE stream_viewer_identities (
    stream_id         uuid        NOT NULL,
    viewer_key        text        NOT NULL,
    first_seen_at     timestamptz NOT NULL DEFAULT now(),
    last_broadcast_at timestamptz,
    CONSTRAINT stream_viewer_identities_pkey PRIMARY KEY (stream_id, viewer_key),
    CONSTRAINT stream_viewer_identities_stream_id_fkey
        FOREIGN KEY (stream_id) REFERENCES live_streams (id) ON DELETE CASCADE
);

-- Statistics of the current (or last) broadcast next to the stream's
-- lifetime ones. The settled_* columns hold the watch time of sessions that
-- are over; watch_time_ms adds the running time of open ones at each sweep.
ALTER TABLE stream_viewer_stats
    ADD COLUMN settled_watch_time_ms bigint NOT NULL DEFAULT 0,
    ADD COLUMN broadcast_started_at timestamptz,
    ADD COLUMN broadcast_peak_viewers integer NOT NULL DEFAULT 0,
    ADD COLUMN broadcast_unique_viewers bigint NOT NULL DEFAULT 0,
    ADD COLUMN broadcast_watch_time_ms bigint NOT NULL DEFAULT 0,
    ADD COLUMN broadcast_settled_watch_time_ms bigint NOT NULL DEFAULT 0,
    ADD CONSTRAINT stream_viewer_stats_broadcast_check CHECK (
        broadcast_peak_viewers >= 0 AND broadcast_unique_viewers >= 0
        AND broadcast_watch_time_ms >= 0 AND broadcast_settled_watch_time_ms >= 0
        AND settled_watch_time_ms >= 0
    );

-- Milliseconds the ranges [a_start, a_end] and [b_start, b_end] share; 0 if
-- none. A NULL b_end is open-ended; a NULL b_start means there is no second
-- range (a stream that never went live has no broadcast), so 0.
CREATE FUNCTION nova_overlap_ms(
    a_start timestamptz, a_end timestamptz, b_start timestamptz, b_end timestamptz
) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN b_start IS NULL THEN 0 ELSE GREATEST(0, round(1000 * extract(epoch FROM
        LEAST(a_end, coalesce(b_end, 'infinity')) - GREATEST(a_start, b_start)))::bigint)
    END
$$;
