//! The HLS playlist writer (RFC 8216bis): every playlist nova-live serves
//! or stores — live windows with their LL-HLS parts, the live master
//! playlist, VOD, DVR windows and clips — is a value here, rendered to
//! text by a pure function.
//!
//! The text is written directly rather than through m3u8-rs, whose
//! decimal precision is a process-wide setting: durations here are whole
//! milliseconds, written with exactly three decimals (§4.4.4.1 allows
//! decimal-floating-point durations from version 3), so nothing needs it.

mod master;
mod media;

pub use master::{AudioRendition, MasterPlaylist, Variant};
pub use media::{MediaPlaylist, Part, PlaylistType, Segment, rendition_report};

/// Whole milliseconds as decimal seconds, exactly (`2.000`, `0.467`).
fn seconds(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

#[cfg(test)]
mod tests {
    use super::seconds;

    #[test]
    fn milliseconds_are_written_with_three_decimals() {
        assert_eq!(seconds(0), "0.000");
        assert_eq!(seconds(467), "0.467");
        assert_eq!(seconds(2_000), "2.000");
        assert_eq!(seconds(61_033), "61.033");
    }
}
