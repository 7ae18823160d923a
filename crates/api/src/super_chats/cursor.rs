//! The opaque `cursor` of the super chat lists: the sort key of the last
//! item of the previous page, so the next page is a keyset range scan.
//! The two lists sort differently, so each cursor says which list it is of.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// Lets the layout change later and still recognize (and refuse) old cursors.
const VERSION: u8 = 1;
const NEWEST: u8 = 1;
const PINNED: u8 = 2;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cursor {
    /// All super chats, newest first: (created_at, id).
    Newest { created_at: DateTime<Utc>, id: Uuid },
    /// Pinned ones, highest tier first, then newest: (tier, created_at, id).
    Pinned {
        tier: i16,
        created_at: DateTime<Utc>,
        id: Uuid,
    },
}

impl Cursor {
    /// Version, list, [tier,] microseconds since the epoch (Postgres'
    /// precision, so the value round-trips exactly), id; base64url.
    pub fn encode(&self) -> String {
        let mut bytes = vec![VERSION];
        let (created_at, id) = match *self {
            Self::Newest { created_at, id } => {
                bytes.push(NEWEST);
                (created_at, id)
            }
            Self::Pinned {
                tier,
                created_at,
                id,
            } => {
                bytes.push(PINNED);
                bytes.extend_from_slice(&tier.to_be_bytes());
                (created_at, id)
            }
        };
        bytes.extend_from_slice(&created_at.timestamp_micros().to_be_bytes());
        bytes.extend_from_slice(id.as_bytes());
        URL_SAFE_NO_PAD.encode(bytes)
    }

    pub fn decode(text: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
        let (&version, rest) = bytes.split_first()?;
        let (&list, rest) = rest.split_first()?;
        if version != VERSION {
            return None;
        }
        let (tier, rest) = match list {
            NEWEST => (None, rest),
            PINNED => {
                let (tier, rest) = rest.split_at_checked(2)?;
                (Some(i16::from_be_bytes(tier.try_into().ok()?)), rest)
            }
            _ => return None,
        };
        if rest.len() != 8 + 16 {
            return None;
        }
        let micros = i64::from_be_bytes(rest[..8].try_into().ok()?);
        let created_at = DateTime::from_timestamp_micros(micros)?;
        let id = Uuid::from_slice(&rest[8..]).ok()?;
        Some(match tier {
            None => Self::Newest { created_at, id },
            Some(tier) => Self::Pinned {
                tier,
                created_at,
                id,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_kinds_round_trip() {
        let created_at = DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap();
        for cursor in [
            Cursor::Newest {
                created_at,
                id: Uuid::new_v4(),
            },
            Cursor::Pinned {
                tier: 7,
                created_at,
                id: Uuid::new_v4(),
            },
        ] {
            assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
        }
    }

    #[test]
    fn garbage_is_refused() {
        let good = Cursor::Pinned {
            tier: 3,
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
        let mut bytes = URL_SAFE_NO_PAD.decode(&good).unwrap();
        bytes[1] = 9;
        assert_eq!(Cursor::decode(&URL_SAFE_NO_PAD.encode(&bytes)), None);
        bytes[1] = PINNED;
        bytes[0] = 2;
        assert_eq!(Cursor::decode(&URL_SAFE_NO_PAD.encode(&bytes)), None);
    }
}
