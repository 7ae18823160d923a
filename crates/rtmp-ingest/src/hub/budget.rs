//! What one publisher may make the server hold: a keyframe interval and a
//! GOP size (segments are cut only on keyframes, so these bound a segment's
//! duration and bytes), and a bitrate. A publisher over any of them is
//! disconnected and told which.

use std::time::Duration;

use nova_media::{Frame, Track};
use tokio::time::Instant;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MediaLimits {
    /// The most media time from one video keyframe to the next. A segment
    /// can only end on a keyframe, so no segment is longer than this plus
    /// its target.
    pub max_keyframe_interval: Duration,
    /// The most bytes from one video keyframe to the next: the bound on what
    /// the GOP cache and a segment in the making hold.
    pub max_gop_bytes: usize,
    /// The most bits per second a publisher may send, averaged over
    /// [`BITRATE_BURST`]; `None` for no limit.
    pub max_bitrate: Option<u64>,
}

impl Default for MediaLimits {
    fn default() -> Self {
        Self {
            // Above OBS's automatic interval (250 frames: 10 s at 25 fps).
            max_keyframe_interval: Duration::from_secs(30),
            // A 10 s GOP at 50 Mb/s.
            max_gop_bytes: 64 << 20,
            max_bitrate: None,
        }
    }
}

/// How long a publisher may send above its bitrate before it is refused:
/// encoders catch up in bursts after network trouble, and the bucket lets
/// them.
pub const BITRATE_BURST: Duration = Duration::from_secs(10);

/// Why a publisher was disconnected for what it sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MediaLimitExceeded {
    #[error("no video keyframe for {}s (the limit is {}s)", .waited.as_secs(), .limit.as_secs())]
    KeyframeInterval { waited: Duration, limit: Duration },
    #[error("{} MiB of video without a keyframe (the limit is {} MiB)", .bytes >> 20, .limit >> 20)]
    GopBytes { bytes: usize, limit: usize },
    #[error("sending more than {} kb/s for over {}s", .limit / 1000, BITRATE_BURST.as_secs())]
    Bitrate { limit: u64 },
}

impl MediaLimitExceeded {
    /// What the encoder's operator should change, in their terms.
    pub fn advice(&self) -> String {
        match self {
            Self::KeyframeInterval { .. } | Self::GopBytes { .. } => format!(
                "the server disconnected this encoder: {self}; set a keyframe interval of 2 s \
                 (in OBS: Settings → Output → Keyframe Interval)"
            ),
            Self::Bitrate { .. } => format!(
                "the server disconnected this encoder: {self}; lower the video bitrate \
                 (in OBS: Settings → Output → Video Bitrate)"
            ),
        }
    }
}

/// One publisher session's running totals against its [`MediaLimits`].
#[derive(Debug)]
pub(super) struct MediaBudget {
    limits: MediaLimits,
    /// DTS of the GOP's first video frame (its keyframe, or the first frame
    /// of a stream that has not sent one).
    gop_start_dts: Option<i64>,
    /// Bytes of every track since the GOP started.
    gop_bytes: usize,
    bitrate: Option<TokenBucket>,
}

impl MediaBudget {
    pub fn new(limits: MediaLimits) -> Self {
        Self {
            limits,
            gop_start_dts: None,
            gop_bytes: 0,
            bitrate: limits
                .max_bitrate
                .map(|bits_per_second| TokenBucket::new(bits_per_second / 8, Instant::now())),
        }
    }

    /// Counts `frame` against the limits.
    pub fn spend(&mut self, frame: &Frame) -> Result<(), MediaLimitExceeded> {
        let bytes = frame.data.len();
        if let Some(bucket) = &mut self.bitrate
            && !bucket.take(bytes as u64, Instant::now())
        {
            return Err(MediaLimitExceeded::Bitrate {
                limit: bucket.rate * 8,
            });
        }
        if frame.track == Track::Video && (frame.keyframe || self.gop_start_dts.is_none()) {
            self.gop_start_dts = Some(frame.dts);
            self.gop_bytes = 0;
        }
        // Audio before the first video frame starts nothing: an audio-only
        // stream has no keyframes to wait for.
        let Some(start) = self.gop_start_dts else {
            return Ok(());
        };
        self.gop_bytes = self.gop_bytes.saturating_add(bytes);
        if self.gop_bytes > self.limits.max_gop_bytes {
            return Err(MediaLimitExceeded::GopBytes {
                bytes: self.gop_bytes,
                limit: self.limits.max_gop_bytes,
            });
        }
        let waited = Duration::from_millis(u64::try_from(frame.dts - start).unwrap_or(0));
        if waited > self.limits.max_keyframe_interval {
            return Err(MediaLimitExceeded::KeyframeInterval {
                waited,
                limit: self.limits.max_keyframe_interval,
            });
        }
        Ok(())
    }
}

/// Bytes per second with [`BITRATE_BURST`] seconds of them as credit.
#[derive(Debug)]
struct TokenBucket {
    rate: u64,
    capacity: f64,
    tokens: f64,
    refilled: Instant,
}

impl TokenBucket {
    fn new(rate: u64, now: Instant) -> Self {
        let capacity = rate as f64 * BITRATE_BURST.as_secs_f64();
        Self {
            rate,
            capacity,
            tokens: capacity,
            refilled: now,
        }
    }

    fn take(&mut self, bytes: u64, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.refilled);
        self.refilled = now;
        self.tokens = (self.tokens + elapsed.as_secs_f64() * self.rate as f64).min(self.capacity);
        if self.tokens < bytes as f64 {
            return false;
        }
        self.tokens -= bytes as f64;
        true
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn frame(track: Track, dts: i64, keyframe: bool, bytes: usize) -> Frame {
        Frame {
            track,
            dts,
            pts: dts,
            keyframe,
            data: Bytes::from(vec![0; bytes]),
        }
    }

    fn limits() -> MediaLimits {
        MediaLimits {
            max_keyframe_interval: Duration::from_secs(5),
            max_gop_bytes: 1000,
            max_bitrate: None,
        }
    }

    #[test]
    fn a_stream_without_keyframes_is_refused_after_the_interval() {
        let mut budget = MediaBudget::new(limits());
        for dts in (0..=5000).step_by(100) {
            budget.spend(&frame(Track::Video, dts, false, 1)).unwrap();
        }
        let refused = budget.spend(&frame(Track::Video, 5100, false, 1));
        assert!(matches!(
            refused,
            Err(MediaLimitExceeded::KeyframeInterval { waited, .. }) if waited == Duration::from_millis(5100)
        ));
    }

    #[test]
    fn keyframes_restart_the_interval_and_the_byte_count() {
        let mut budget = MediaBudget::new(limits());
        for second in 0..20 {
            let start = second * 4000;
            budget
                .spend(&frame(Track::Video, start, true, 600))
                .unwrap();
            budget
                .spend(&frame(Track::Audio, start + 10, false, 300))
                .unwrap();
            budget
                .spend(&frame(Track::Video, start + 3900, false, 90))
                .unwrap();
        }
    }

    #[test]
    fn a_gop_over_its_bytes_is_refused_whatever_its_duration() {
        let mut budget = MediaBudget::new(limits());
        budget.spend(&frame(Track::Video, 0, true, 600)).unwrap();
        budget.spend(&frame(Track::Audio, 1, false, 300)).unwrap();
        assert_eq!(
            budget.spend(&frame(Track::Video, 2, false, 101)),
            Err(MediaLimitExceeded::GopBytes {
                bytes: 1001,
                limit: 1000
            })
        );
    }

    #[test]
    fn audio_only_streams_have_no_keyframes_to_wait_for() {
        let mut budget = MediaBudget::new(limits());
        for dts in (0..60_000).step_by(21) {
            budget.spend(&frame(Track::Audio, dts, false, 400)).unwrap();
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_bitrate_may_burst_but_not_stay_above_the_limit() {
        // 8 kb/s: 1000 bytes a second, 10 000 bytes of credit.
        let mut budget = MediaBudget::new(MediaLimits {
            max_bitrate: Some(8000),
            ..MediaLimits::default()
        });
        // Twice the rate for 9 s uses 9 000 of the 10 000 bytes of credit.
        for tenth in 0..90 {
            budget
                .spend(&frame(Track::Audio, tenth * 100, false, 200))
                .unwrap();
            tokio::time::advance(Duration::from_millis(100)).await;
        }
        let mut refused = None;
        for tenth in 90..200 {
            if let Err(exceeded) = budget.spend(&frame(Track::Audio, tenth * 100, false, 200)) {
                refused = Some((tenth, exceeded));
                break;
            }
            tokio::time::advance(Duration::from_millis(100)).await;
        }
        let (tenth, exceeded) = refused.expect("the publisher is refused");
        assert_eq!(exceeded, MediaLimitExceeded::Bitrate { limit: 8000 });
        assert!((95..=105).contains(&tenth), "refused at {tenth}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_publisher_at_the_limit_is_never_refused() {
        let mut budget = MediaBudget::new(MediaLimits {
            max_bitrate: Some(8000),
            ..MediaLimits::default()
        });
        for tenth in 0..1000 {
            budget
                .spend(&frame(Track::Audio, tenth * 100, false, 100))
                .unwrap();
            tokio::time::advance(Duration::from_millis(100)).await;
        }
    }
}
