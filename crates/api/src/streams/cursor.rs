//! The opaque `cursor` of `GET /api/v1/streams`: the (created_at, id) of the
//! last stream on the previous page, so the next page is a keyset range scan
//! of `live_streams_owner_created_idx` however deep the client pages.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// Lets the layout change later and still recognize (and refuse) old cursors.
const VERSION: u8 = 1;
const LEN: usize = 1 + 8 + 16;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Cursor {
    pub created_at: DateTime<Utc>,
    pub id: Uuid,
}

impl Cursor {
    /// Version, microseconds since the epoch (Postgres' precision, so the
    /// value round-trips exactly), id; base64url without padding.
    pub fn encode(&self) -> String {
        let mut bytes = Vec::with_capacity(LEN);
        bytes.push(VERSION);
        bytes.extend_from_slice(&self.created_at.timestamp_micros().to_be_bytes());
        bytes.extend_from_slice(self.id.as_bytes());
        URL_SAFE_NO_PAD.encode(bytes)
    }

    pub fn decode(text: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
        if bytes.len() != LEN || bytes[0] != VERSION {
            return None;
        }
        let micros = i64::from_be_bytes(bytes[1..9].try_into().ok()?);
        Some(Self {
            created_at: DateTime::from_timestamp_micros(micros)?,
            id: Uuid::from_slice(&bytes[9..]).ok()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let cursor = Cursor {
            created_at: DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap(),
            id: Uuid::new_v4(),
        };
        let text = cursor.encode();
        assert!(
            text.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(Cursor::decode(&text), Some(cursor));
    }

    #[test]
    fn garbage_is_refused() {
        let good = Cursor {
            created_at: Utc::now(),
            id: Uuid::new_v4(),
        }
        .encode();
        for bad in [
            "",
            "abc",
            "!!!!",
            &good[..good.len() - 2],
            &format!("{good}AA"),
        ] {
            assert_eq!(Cursor::decode(bad), None, "{bad:?}");
        }
        let mut other_version = URL_SAFE_NO_PAD.decode(&good).unwrap();
        other_version[0] = 2;
        assert_eq!(Cursor::decode(&URL_SAFE_NO_PAD.encode(other_version)), None);
    }
}
