//! The packaging run's timeline: every publish session's clock mapped onto
//! one line that starts at 0 and never goes backwards. Within a session,
//! each track's DTS already increases: the hub repairs any that do not,
//! before it fans frames out.

use std::time::{Duration, SystemTime};

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
}
