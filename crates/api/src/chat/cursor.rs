//! The opaque `cursor`s of the chat lists: the position of the last item
//! of the previous page, so the next page is a keyset range scan however
//! deep the client pages, and unaffected by items added meanwhile.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// The first byte: which list (so one list's cursor is refused by another)
/// and which layout (so a later layout can refuse old cursors).
const MESSAGES_V1: u8 = 0x11;
const BANS_V1: u8 = 0x21;

/// Messages older than (with ids below) this one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct MessageCursor {
    pub before_id: i64,
}

/// Bans after this one in (created_at, user_id) descending order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BanCursor {
    pub created_at: DateTime<Utc>,
    pub user_id: Uuid,
}

impl MessageCursor {
    pub fn encode(&self) -> String {
        let mut bytes = vec![MESSAGES_V1];
        bytes.extend_from_slice(&self.before_id.to_be_bytes());
        URL_SAFE_NO_PAD.encode(bytes)
    }

    pub fn decode(text: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
        let (&MESSAGES_V1, id) = bytes.split_first()? else {
            return None;
        };
        Some(Self {
            before_id: i64::from_be_bytes(id.try_into().ok()?),
        })
    }
}

impl BanCursor {
    /// Microseconds since the epoch: Postgres' precision, so the value
    /// round-trips exactly.
    pub fn encode(&self) -> String {
        let mut bytes = vec![BANS_V1];
        bytes.extend_from_slice(&self.created_at.timestamp_micros().to_be_bytes());
        bytes.extend_from_slice(self.user_id.as_bytes());
        URL_SAFE_NO_PAD.encode(bytes)
    }

    pub fn decode(text: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
        let (&BANS_V1, rest) = bytes.split_first()? else {
            return None;
        };
        if rest.len() != 8 + 16 {
            return None;
        }
        let micros = i64::from_be_bytes(rest[..8].try_into().ok()?);
        Some(Self {
            created_at: DateTime::from_timestamp_micros(micros)?,
            user_id: Uuid::from_slice(&rest[8..]).ok()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let message = MessageCursor { before_id: 1 << 40 };
        assert_eq!(MessageCursor::decode(&message.encode()), Some(message));
        let ban = BanCursor {
            created_at: DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap(),
            user_id: Uuid::new_v4(),
        };
        assert_eq!(BanCursor::decode(&ban.encode()), Some(ban));
    }

    #[test]
    fn a_cursor_of_another_list_or_garbage_is_refused() {
        let message = MessageCursor { before_id: 5 }.encode();
        let ban = BanCursor {
            created_at: Utc::now(),
            user_id: Uuid::new_v4(),
        }
        .encode();
        assert_eq!(BanCursor::decode(&message), None);
        assert_eq!(MessageCursor::decode(&ban), None);
        for bad in ["", "abc", "!!!!", &message[..message.len() - 2]] {
            assert_eq!(MessageCursor::decode(bad), None, "{bad:?}");
            assert_eq!(BanCursor::decode(bad), None, "{bad:?}");
        }
    }
}
