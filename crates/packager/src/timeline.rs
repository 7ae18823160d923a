//! The packaging run's timeline: every publish session's clock mapped onto
//! one line that starts at 0 and never goes backwards, and per-track DTS
//! kept strictly increasing as MP4 and MPEG-TS require.

use std::time::{Duration, SystemTime};

use nova_media::Track;

/// How far back a DTS may go and still be nudged forward rather than dropped:
/// small reorderings are encoder or ingest jitter; larger jumps need the
/// deeper repair of a later issue.
const NUDGE_LIMIT_MS: i64 = 1000;

/// Maps one publish session's timestamps (the publisher's clock) onto the
/// run's timeline, anchored at the session's first keyframe.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SessionClock {
    publisher_origin: i64,
    run_origin: i64,
    wall_origin: SystemTime,
}

impl SessionClock {
    /// `publisher_origin` (the first keyframe's DTS on the publisher's clock)
    /// becomes `run_origin`, which happened at `wall_origin`.
    pub(crate) fn new(publisher_origin: i64, run_origin: i64, wall_origin: SystemTime) -> Self {
        Self {
            publisher_origin,
            run_origin,
            wall_origin,
        }
    }

    pub(crate) fn run_time(self, publisher_ts: i64) -> i64 {
        publisher_ts - self.publisher_origin + self.run_origin
    }

    pub(crate) fn run_origin(&self) -> i64 {
        self.run_origin
    }

    /// Wall-clock time of a run timestamp (`EXT-X-PROGRAM-DATE-TIME`,
    /// RFC 8216 §4.3.2.6), assuming the session plays out in real time.
    pub(crate) fn wall_clock(self, run_ts: i64) -> SystemTime {
        let offset = run_ts - self.run_origin;
        let magnitude = Duration::from_millis(offset.unsigned_abs());
        let moved = if offset >= 0 {
            self.wall_origin.checked_add(magnitude)
        } else {
            self.wall_origin.checked_sub(magnitude)
        };
        // Only absurd timestamps overflow the clock; they get the origin.
        moved.unwrap_or(self.wall_origin)
    }
}

/// What [`DtsGuard::admit`] did to a frame's timestamps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Admission {
    /// Timestamps are fine.
    Kept { dts: i64, pts: i64 },
    /// DTS did not increase; it was moved just past the previous one.
    Nudged { dts: i64, pts: i64, from: i64 },
    /// DTS went back too far to nudge; drop the frame.
    Rejected { dts: i64, last: i64 },
}

/// Keeps each track's DTS strictly increasing (ISO/IEC 14496-12 §8.6.1.2:
/// sample decoding times increase; FFmpeg's muxers refuse anything else).
#[derive(Debug, Default)]
pub(crate) struct DtsGuard {
    last: [Option<i64>; 2],
}

impl DtsGuard {
    pub(crate) fn admit(&mut self, track: Track, dts: i64, pts: i64) -> Admission {
        let slot = &mut self.last[track_index(track)];
        // A frame is never presented before it is decoded.
        let pts = pts.max(dts);
        let admission = match *slot {
            Some(last) if dts <= last && last - dts <= NUDGE_LIMIT_MS => Admission::Nudged {
                dts: last + 1,
                pts: pts.max(last + 1),
                from: dts,
            },
            Some(last) if dts <= last => return Admission::Rejected { dts, last },
            _ => Admission::Kept { dts, pts },
        };
        if let Admission::Kept { dts, .. } | Admission::Nudged { dts, .. } = admission {
            *slot = Some(dts);
        }
        admission
    }
}

pub(crate) fn track_index(track: Track) -> usize {
    match track {
        Track::Video => 0,
        Track::Audio => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_sessions_onto_the_run() {
        let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let clock = SessionClock::new(90_000, 6_033, wall);
        assert_eq!(clock.run_time(90_000), 6_033);
        assert_eq!(clock.run_time(92_000), 8_033);
        assert_eq!(clock.wall_clock(8_033), wall + Duration::from_secs(2));
        assert_eq!(clock.wall_clock(5_033), wall - Duration::from_secs(1));
    }

    #[test]
    fn nudges_small_reorderings_and_rejects_large_ones() {
        let mut guard = DtsGuard::default();
        assert_eq!(
            guard.admit(Track::Video, 0, 67),
            Admission::Kept { dts: 0, pts: 67 }
        );
        assert_eq!(
            guard.admit(Track::Video, 0, 33),
            Admission::Nudged {
                dts: 1,
                pts: 33,
                from: 0
            }
        );
        // Tracks are independent.
        assert_eq!(
            guard.admit(Track::Audio, 0, 0),
            Admission::Kept { dts: 0, pts: 0 }
        );
        assert_eq!(
            guard.admit(Track::Video, 5_000, 5_000),
            Admission::Kept {
                dts: 5_000,
                pts: 5_000
            }
        );
        assert_eq!(
            guard.admit(Track::Video, 1_000, 1_000),
            Admission::Rejected {
                dts: 1_000,
                last: 5_000
            }
        );
        // A rejected frame does not move the guard.
        assert_eq!(
            guard.admit(Track::Video, 5_010, 5_000),
            Admission::Kept {
                dts: 5_010,
                pts: 5_010
            }
        );
    }
}
