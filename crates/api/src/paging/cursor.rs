//! The opaque `cursor` of every list: the sort key of the last item on the
//! previous page, so the next page is a keyset range scan however deep the
//! client pages and unaffected by rows added meanwhile, plus a tag of the
//! list it came from (which list, of which stream or endpoint, with which
//! filters). A cursor used on another list would silently skip or repeat
//! rows, so it is refused instead.
//!
//! Layout: version, list tag, key; base64url without padding.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// Lets the layout change later and still recognize (and refuse) old cursors.
const VERSION: u8 = 3;
const TAG_LEN: usize = 8;

/// Names one list: the same list with the same filters gives the same tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ListTag([u8; TAG_LEN]);

impl ListTag {
    /// `canonical` must spell the list and its filters the same way every
    /// time they mean the same rows (e.g. `owner` resolved to a user id).
    pub fn of(canonical: &str) -> Self {
        let digest = Sha256::digest(canonical.as_bytes());
        let mut tag = [0; TAG_LEN];
        tag.copy_from_slice(&digest[..TAG_LEN]);
        Self(tag)
    }
}

/// Most lists sort newest first by (a timestamp, an id): the position of
/// the last row is that pair.
pub(crate) type TimeKey = (DateTime<Utc>, Uuid);

/// A sort key that goes into a cursor and comes back out unchanged.
pub(crate) trait CursorKey: Sized {
    fn write(&self, out: &mut Vec<u8>);
    /// Reads the key off the front of `input`; `None` if it is not there.
    fn read(input: &mut &[u8]) -> Option<Self>;
}

fn take<const N: usize>(input: &mut &[u8]) -> Option<[u8; N]> {
    let (head, rest) = input.split_at_checked(N)?;
    *input = rest;
    head.try_into().ok()
}

impl CursorKey for i64 {
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_be_bytes());
    }

    fn read(input: &mut &[u8]) -> Option<Self> {
        take(input).map(Self::from_be_bytes)
    }
}

impl CursorKey for i16 {
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_be_bytes());
    }

    fn read(input: &mut &[u8]) -> Option<Self> {
        take(input).map(Self::from_be_bytes)
    }
}

impl CursorKey for Uuid {
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.as_bytes());
    }

    fn read(input: &mut &[u8]) -> Option<Self> {
        take(input).map(Self::from_bytes)
    }
}

/// Microseconds since the epoch: Postgres' precision, so the value
/// round-trips exactly.
impl CursorKey for DateTime<Utc> {
    fn write(&self, out: &mut Vec<u8>) {
        self.timestamp_micros().write(out);
    }

    fn read(input: &mut &[u8]) -> Option<Self> {
        DateTime::from_timestamp_micros(i64::read(input)?)
    }
}

impl<A: CursorKey, B: CursorKey> CursorKey for (A, B) {
    fn write(&self, out: &mut Vec<u8>) {
        self.0.write(out);
        self.1.write(out);
    }

    fn read(input: &mut &[u8]) -> Option<Self> {
        Some((A::read(input)?, B::read(input)?))
    }
}

impl<A: CursorKey, B: CursorKey, C: CursorKey> CursorKey for (A, B, C) {
    fn write(&self, out: &mut Vec<u8>) {
        self.0.write(out);
        self.1.write(out);
        self.2.write(out);
    }

    fn read(input: &mut &[u8]) -> Option<Self> {
        Some((A::read(input)?, B::read(input)?, C::read(input)?))
    }
}

/// Why a cursor was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CursorError {
    /// Not something this API issued (or an older layout).
    Malformed,
    /// Issued by another list, or by this one with other filters.
    OtherList,
}

pub(crate) fn encode<K: CursorKey>(list: ListTag, key: &K) -> String {
    let mut bytes = vec![VERSION];
    bytes.extend_from_slice(&list.0);
    key.write(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

pub(crate) fn decode<K: CursorKey>(list: ListTag, text: &str) -> Result<K, CursorError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| CursorError::Malformed)?;
    let mut input = bytes.as_slice();
    let (Some([VERSION]), Some(tag)) = (take::<1>(&mut input), take::<TAG_LEN>(&mut input)) else {
        return Err(CursorError::Malformed);
    };
    // Before the key: another list's key may have another layout.
    if ListTag(tag) != list {
        return Err(CursorError::OtherList);
    }
    match K::read(&mut input) {
        Some(key) if input.is_empty() => Ok(key),
        _ => Err(CursorError::Malformed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> DateTime<Utc> {
        DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap()
    }

    #[test]
    fn every_key_round_trips() {
        let list = ListTag::of("owner=me");
        let time_key: TimeKey = (at(), Uuid::new_v4());
        let text = encode(list, &time_key);
        assert!(
            text.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(decode(list, &text), Ok(time_key));
        let id = 1_i64 << 40;
        assert_eq!(decode(list, &encode(list, &id)), Ok(id));
        let pinned = (7_i16, at(), Uuid::new_v4());
        assert_eq!(decode(list, &encode(list, &pinned)), Ok(pinned));
    }

    #[test]
    fn the_tag_tells_lists_apart() {
        assert_eq!(ListTag::of("a"), ListTag::of("a"));
        assert_ne!(ListTag::of("a"), ListTag::of("b"));
        let text = encode(ListTag::of("a"), &5_i64);
        assert_eq!(
            decode::<i64>(ListTag::of("b"), &text),
            Err(CursorError::OtherList)
        );
        // Even when the other list's key has another layout.
        assert_eq!(
            decode::<TimeKey>(ListTag::of("b"), &text),
            Err(CursorError::OtherList)
        );
    }

    #[test]
    fn garbage_is_refused() {
        let list = ListTag::of("a");
        let good = encode(list, &(at(), Uuid::new_v4()));
        for bad in [
            "",
            "abc",
            "!!!!",
            &good[..good.len() - 2],
            &format!("{good}AA"),
        ] {
            assert_eq!(
                decode::<TimeKey>(list, bad),
                Err(CursorError::Malformed),
                "{bad:?}"
            );
        }
        let mut other_version = URL_SAFE_NO_PAD.decode(&good).unwrap();
        other_version[0] = 2;
        assert_eq!(
            decode::<TimeKey>(list, &URL_SAFE_NO_PAD.encode(other_version)),
            Err(CursorError::Malformed)
        );
        // The right list, the wrong key layout.
        assert_eq!(decode::<i64>(list, &good), Err(CursorError::Malformed));
    }
}
