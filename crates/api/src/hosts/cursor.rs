//! The opaque `cursor` of `GET /api/v1/streams/{id}/hosts`: the
//! (invited_at, user_id) of the last host on the previous page, so the next
//! page is a range scan of `stream_hosts_stream_invited_idx`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// Lets the layout change later and still recognize (and refuse) old cursors.
const VERSION: u8 = 1;
const LEN: usize = 1 + 8 + 16;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Cursor {
    pub invited_at: DateTime<Utc>,
    pub user_id: Uuid,
}

impl Cursor {
    /// Version, microseconds since the epoch (Postgres' precision, so the
    /// value round-trips exactly), user id; base64url without padding.
    pub fn encode(&self) -> String {
        let mut bytes = Vec::with_capacity(LEN);
        bytes.push(VERSION);
        bytes.extend_from_slice(&self.invited_at.timestamp_micros().to_be_bytes());
        bytes.extend_from_slice(self.user_id.as_bytes());
        URL_SAFE_NO_PAD.encode(bytes)
    }

    pub fn decode(text: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
        if bytes.len() != LEN || bytes[0] != VERSION {
            return None;
        }
        let micros = i64::from_be_bytes(bytes[1..9].try_into().ok()?);
        Some(Self {
            invited_at: DateTime::from_timestamp_micros(micros)?,
            user_id: Uuid::from_slice(&bytes[9..]).ok()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_garbage() {
        let cursor = Cursor {
            invited_at: DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap(),
            user_id: Uuid::new_v4(),
        };
        let text = cursor.encode();
        assert_eq!(Cursor::decode(&text), Some(cursor));
        for bad in [
            "",
            "abc",
            "!!!!",
            &text[..text.len() - 2],
            &format!("{text}AA"),
        ] {
            assert_eq!(Cursor::decode(bad), None, "{bad:?}");
        }
    }
}
