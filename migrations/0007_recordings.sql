-- Recordings (issue 4): what the recorder needs beyond the 0001 index.

-- Each stored media segment names the init segment (CMAF `EXT-X-MAP`) it
-- needs; MPEG-TS segments have none.
ALTER TABLE stream_segments
    ADD COLUMN init_object_key text,
    ADD COLUMN container text NOT NULL DEFAULT 'fmp4',
    ADD CONSTRAINT stream_segments_container_check CHECK (container IN ('fmp4', 'ts')),
    ADD CONSTRAINT stream_segments_init_key_check
        CHECK (init_object_key IS NULL OR (init_object_key <> '' AND init_object_key !~ '^/'));

-- The fMP4 `tfdt` of the segment's first fragment, in its track's timescale:
-- a static DASH MPD's SegmentTimeline states it exactly.
ALTER TABLE stream_segments ADD COLUMN base_decode_time bigint;

-- What manifests need from each init segment (read from its own boxes when
-- it was recorded): the codec string, the track's timescale, the picture
-- size or the audio format. Goes with its recording.
CREATE TABLE stream_recording_inits (
    recording_id  uuid        NOT NULL,
    object_key    text        NOT NULL,
    rendition     text        NOT NULL,
    codecs        text        NOT NULL,
    timescale     integer     NOT NULL,
    width         integer,
    height        integer,
    sample_rate   integer,
    channels      smallint,
    CONSTRAINT stream_recording_inits_pkey PRIMARY KEY (object_key),
    CONSTRAINT stream_recording_inits_recording_fkey
        FOREIGN KEY (recording_id) REFERENCES stream_recordings (id) ON DELETE CASCADE,
    CONSTRAINT stream_recording_inits_timescale_check CHECK (timescale > 0)
);

CREATE INDEX stream_recording_inits_recording_idx ON stream_recording_inits (recording_id);

-- VOD playlists read one recording's segments per rendition in order.
CREATE INDEX stream_segments_recording_idx
    ON stream_segments (recording_id, rendition, sequence);

-- Kept with the row as segments are indexed, so a recording's summary is
-- one row to read.
ALTER TABLE stream_recordings
    ADD COLUMN segment_count integer NOT NULL DEFAULT 0,
    ADD CONSTRAINT stream_recordings_segment_count_check CHECK (segment_count >= 0);

-- A clip: a time range of one recording, played back as VOD over the
-- recording's own segments (no re-encode). It goes with its recording.
CREATE TABLE stream_clips (
    id            uuid        NOT NULL DEFAULT gen_random_uuid(),
    stream_id     uuid        NOT NULL,
    recording_id  uuid        NOT NULL,
    created_by    uuid        NOT NULL,
    title         text        NOT NULL DEFAULT '',
    -- Offsets in the recording's media timeline, as asked for; playback
    -- snaps outwards to segment boundaries (keyframes).
    start_ms      bigint      NOT NULL,
    end_ms        bigint      NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT stream_clips_pkey PRIMARY KEY (id),
    CONSTRAINT stream_clips_recording_fkey
        FOREIGN KEY (recording_id, stream_id)
        REFERENCES stream_recordings (id, stream_id) ON DELETE CASCADE,
    CONSTRAINT stream_clips_range_check CHECK (start_ms >= 0 AND end_ms > start_ms),
    CONSTRAINT stream_clips_title_check CHECK (char_length(title) <= 200)
);

CREATE INDEX stream_clips_recording_idx ON stream_clips (recording_id, created_at DESC);
