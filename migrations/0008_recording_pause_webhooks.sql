-- Issue 17: a full disk or upload spool pauses recording (live playback goes
-- on); owners can hear of it: `recording.paused` and `recording.resumed`.
ALTER TABLE webhook_endpoints
    DROP CONSTRAINT webhook_endpoints_event_types_check,
    ADD CONSTRAINT webhook_endpoints_event_types_check CHECK (
        cardinality(event_types) >= 1 AND event_types <@ ARRAY[
            'stream.started', 'stream.ended', 'recording.ready',
            'recording.paused', 'recording.resumed', 'super_chat.created'
        ]::text[]
    );
