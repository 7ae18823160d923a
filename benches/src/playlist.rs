//! What a load run should find in an HLS media playlist (read with the
//! test kit's `ll_hls::LlPlaylist`).

/// How many segments a stream of `media_seconds` should have produced, with
/// segments of `segment_seconds`, and how many may be missing at the end (the
/// last, partial one is cut only when the publisher leaves, and a server may
/// still be writing one more).
pub fn expected_segments(media_seconds: f64, segment_seconds: f64) -> (u64, u64) {
    let expected = (media_seconds / segment_seconds).floor().max(0.0) as u64;
    let allowed_missing = (expected / 4).clamp(1, 2);
    (expected, allowed_missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerates_one_or_two_missing_segments() {
        assert_eq!(expected_segments(30.0, 2.0), (15, 2));
        assert_eq!(expected_segments(20.0, 2.0), (10, 2));
        assert_eq!(expected_segments(6.0, 2.0), (3, 1));
        assert_eq!(expected_segments(1.0, 2.0), (0, 1));
    }
}
