//! Where a recording's objects live in the store. One prefix per recording,
//! so deleting a recording is deleting what its rows name, and an operator
//! can find a recording's files by its id.

use nova_media::StreamId;
use uuid::Uuid;

/// `recordings/{stream}/{recording}/`.
pub fn recording_prefix(stream: StreamId, recording: Uuid) -> String {
    format!("recordings/{stream}/{recording}/")
}

/// `recordings/{stream}/{recording}/{rendition}/{name}`: `name` is the
/// packager's segment or init name, unique for the life of the server.
pub fn object_key(stream: StreamId, recording: Uuid, rendition: &str, name: &str) -> String {
    format!("{}{rendition}/{name}", recording_prefix(stream, recording))
}

/// The file name part of a key (what playlists list).
pub fn file_name(key: &str) -> &str {
    key.rsplit('/').next().unwrap_or(key)
}

/// Whether `name` can be a segment or init name inside a recording: what
/// the playback routes accept before touching the store.
pub fn is_object_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Whether `name` can be a rendition name (`source`, `720p`, `audio`).
pub fn is_rendition_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_relative_paths_under_the_recording() {
        let stream = StreamId(Uuid::nil());
        let recording = Uuid::from_u128(1);
        let key = object_key(stream, recording, "source", "abc-3.m4s");
        assert_eq!(
            key,
            "recordings/00000000-0000-0000-0000-000000000000/00000000-0000-0000-0000-000000000001/source/abc-3.m4s"
        );
        assert!(key.starts_with(&recording_prefix(stream, recording)));
        assert_eq!(file_name(&key), "abc-3.m4s");
    }

    #[test]
    fn names_are_checked_before_any_lookup() {
        assert!(is_object_name("abc-init1.mp4"));
        assert!(is_object_name("abc-17.ts"));
        for bad in ["", "..", ".hidden", "a/b", "a b", "x%2f"] {
            assert!(!is_object_name(bad), "{bad:?}");
        }
        assert!(is_rendition_name("720p"));
        assert!(!is_rendition_name("../x"));
        assert!(!is_rendition_name(""));
    }
}
