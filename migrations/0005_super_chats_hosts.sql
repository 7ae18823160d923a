-- Super chats and co-hosts: the indexes their API reads through.
-- Same conventions as 0001 (named constraints and indexes).

-- `GET /streams/{id}/super-chats/totals` sums the paid super chats of one
-- stream per currency. Only paid rows are indexed, and the amount is
-- carried in the index, so the totals are an index-only scan of the
-- stream's paid rows rather than a visit to every row it ever had.
CREATE INDEX super_chats_paid_totals_idx
    ON super_chats (stream_id, currency) INCLUDE (amount_minor)
    WHERE status = 'paid';

-- `GET /streams/{id}/hosts` pages through a stream's hosts in the order they
-- were invited, with the keyset (invited_at, user_id).
CREATE INDEX stream_hosts_stream_invited_idx
    ON stream_hosts (stream_id, invited_at, user_id);
