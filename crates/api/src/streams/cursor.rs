//! The opaque `cursor` of `GET /api/v1/streams`: the (created_at, id) of the
//! last stream on the previous page, so the next page is a keyset range scan
//! however deep the client pages, plus a tag of the query (its filters) the
//! page came from. A cursor used with other filters would silently skip or
//! repeat streams, so it is refused instead.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// Lets the layout change later and still recognize (and refuse) old cursors.
const VERSION: u8 = 2;
const TAG_LEN: usize = 8;
const LEN: usize = 1 + 8 + 16 + TAG_LEN;

/// Names one list query: the same filters give the same tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct QueryTag([u8; TAG_LEN]);

impl QueryTag {
    /// `canonical` must spell the filters the same way every time they mean
    /// the same rows (e.g. `owner` resolved to a user id).
    pub fn of(canonical: &str) -> Self {
        let digest = Sha256::digest(canonical.as_bytes());
        let mut tag = [0; TAG_LEN];
        tag.copy_from_slice(&digest[..TAG_LEN]);
        Self(tag)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Cursor {
    pub created_at: DateTime<Utc>,
    pub id: Uuid,
    pub query: QueryTag,
}

impl Cursor {
    /// Version, microseconds since the epoch (Postgres' precision, so the
    /// value round-trips exactly), id, query tag; base64url without padding.
    pub fn encode(&self) -> String {
        let mut bytes = Vec::with_capacity(LEN);
        bytes.push(VERSION);
        bytes.extend_from_slice(&self.created_at.timestamp_micros().to_be_bytes());
        bytes.extend_from_slice(self.id.as_bytes());
        bytes.extend_from_slice(&self.query.0);
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
            id: Uuid::from_slice(&bytes[9..25]).ok()?,
            query: QueryTag(bytes[25..].try_into().ok()?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cursor() -> Cursor {
        Cursor {
            created_at: DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap(),
            id: Uuid::new_v4(),
            query: QueryTag::of("owner=me"),
        }
    }

    #[test]
    fn round_trips() {
        let cursor = cursor();
        let text = cursor.encode();
        assert!(
            text.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(Cursor::decode(&text), Some(cursor));
    }

    #[test]
    fn the_tag_tells_queries_apart() {
        assert_eq!(QueryTag::of("a"), QueryTag::of("a"));
        assert_ne!(QueryTag::of("a"), QueryTag::of("b"));
    }

    #[test]
    fn garbage_is_refused() {
        let good = cursor().encode();
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
        other_version[0] = 1;
        assert_eq!(Cursor::decode(&URL_SAFE_NO_PAD.encode(other_version)), None);
    }
}
