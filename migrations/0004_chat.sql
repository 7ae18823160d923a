-- Live chat: the lookups behind slow mode and the list of bans.

-- Slow mode reads "this author's last message in this stream" on every post
-- while it is on; (author_id, id) alone would walk the author's messages in
-- every other stream first.
CREATE INDEX live_chat_messages_stream_author_idx
    ON live_chat_messages (stream_id, author_id, id);

-- "Bans of this stream, newest first", with keyset pagination on
-- (created_at, user_id).
CREATE INDEX stream_chat_bans_stream_created_idx
    ON stream_chat_bans (stream_id, created_at DESC, user_id DESC);
