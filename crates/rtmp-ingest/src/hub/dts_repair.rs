//! The one place where decode timestamps are repaired: in the hub, before a
//! frame is cached or fanned out.
//!
//! Every subscriber needs each track's DTS strictly increasing: the
//! packager's muxers (ISO/IEC 14496-12 §8.6.1.2: sample decoding times
//! increase; FFmpeg's muxers refuse anything else), and the RTMP players and
//! relays that forward frames as they come. Repairing here, rather than in
//! each consumer or in each ingest protocol, does it once for all of them
//! and counts it once; an ingest protocol only turns its clock into
//! unwrapped milliseconds.

use nova_media::{Frame, Track};

/// What [`DtsRepair::admit`] did to a frame's timestamps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Admission {
    /// Timestamps are fine (a PTS before the DTS is raised to it: a frame
    /// is never presented before it is decoded).
    Kept { dts: i64, pts: i64 },
    /// DTS did not increase; it was moved just past the previous one.
    Repaired { dts: i64, pts: i64, from: i64 },
}

/// One publish session's repair state, per track.
///
/// A step backwards (encoder jitter, or an encoder that restarted its clock
/// without a new publish) is absorbed: the frame gets the previous DTS plus
/// one millisecond, and the timeline continues from the new clock value
/// with the publisher's own steps, so a clock reset does not freeze the
/// stream until the new clock catches up with the old one. A frame whose
/// DTS merely equals the previous one is moved past it likewise.
#[derive(Debug, Default)]
pub(super) struct DtsRepair {
    tracks: [Option<TrackClock>; 2],
}

#[derive(Clone, Copy, Debug)]
struct TrackClock {
    /// The previous frame's DTS as the publisher sent it.
    last_in: i64,
    /// The publisher's clock with its backward steps taken out.
    followed: i64,
    /// The previous frame's DTS as subscribers got it.
    last_out: i64,
}

impl DtsRepair {
    /// The frame with timestamps subscribers can use, and whether they had
    /// to be repaired.
    pub(super) fn repair(&mut self, frame: Frame) -> (Frame, bool) {
        match self.admit(frame.track, frame.dts, frame.pts) {
            Admission::Kept { dts, pts } => (Frame { dts, pts, ..frame }, false),
            Admission::Repaired { dts, pts, .. } => (Frame { dts, pts, ..frame }, true),
        }
    }

    pub(super) fn admit(&mut self, track: Track, dts: i64, pts: i64) -> Admission {
        let slot = &mut self.tracks[track.index()];
        let Some(clock) = slot else {
            *slot = Some(TrackClock {
                last_in: dts,
                followed: dts,
                last_out: dts,
            });
            return Admission::Kept {
                dts,
                pts: pts.max(dts),
            };
        };
        let composition = pts - dts;
        clock.followed += (dts - clock.last_in).max(0);
        clock.last_in = dts;
        let followed = clock.followed;
        let pts = (followed + composition).max(followed);
        if followed > clock.last_out {
            clock.last_out = followed;
            return Admission::Kept { dts: followed, pts };
        }
        clock.last_out += 1;
        Admission::Repaired {
            dts: clock.last_out,
            pts: pts.max(clock.last_out),
            from: dts,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dts(admission: Admission) -> i64 {
        match admission {
            Admission::Kept { dts, .. } | Admission::Repaired { dts, .. } => dts,
        }
    }

    #[test]
    fn absorbs_backward_steps_and_follows_a_reset_clock() {
        let mut repair = DtsRepair::default();
        let mut video = |ts| repair.admit(Track::Video, ts, ts);
        assert_eq!(dts(video(5_000)), 5_000);
        assert_eq!(
            video(4_990),
            Admission::Repaired {
                dts: 5_001,
                pts: 5_001,
                from: 4_990
            }
        );
        assert_eq!(dts(video(5_023)), 5_033);
        // The encoder restarted its clock at zero.
        assert_eq!(
            video(0),
            Admission::Repaired {
                dts: 5_034,
                pts: 5_034,
                from: 0
            }
        );
        assert_eq!(
            video(40),
            Admission::Kept {
                dts: 5_073,
                pts: 5_073
            }
        );
    }

    #[test]
    fn moves_repeated_timestamps_forward_per_track() {
        let mut repair = DtsRepair::default();
        assert_eq!(
            repair.admit(Track::Video, 0, 67),
            Admission::Kept { dts: 0, pts: 67 }
        );
        assert_eq!(
            repair.admit(Track::Video, 0, 33),
            Admission::Repaired {
                dts: 1,
                pts: 33,
                from: 0
            }
        );
        // Tracks are independent.
        assert_eq!(
            repair.admit(Track::Audio, 0, 0),
            Admission::Kept { dts: 0, pts: 0 }
        );
        assert_eq!(
            repair.admit(Track::Video, 5_000, 5_000),
            Admission::Kept {
                dts: 5_000,
                pts: 5_000
            }
        );
        // A frame from long ago, then the old clock again: the step back
        // is absorbed, so what follows keeps its spacing from that frame.
        assert_eq!(
            repair.admit(Track::Video, 1_000, 1_000),
            Admission::Repaired {
                dts: 5_001,
                pts: 5_001,
                from: 1_000
            }
        );
        assert_eq!(
            repair.admit(Track::Video, 5_010, 5_000),
            Admission::Kept {
                dts: 9_010,
                pts: 9_010
            }
        );
    }

    #[test]
    fn keeps_composition_offsets_and_raises_pts_to_dts() {
        let mut repair = DtsRepair::default();
        assert_eq!(
            repair.admit(Track::Video, 100, 80),
            Admission::Kept { dts: 100, pts: 100 }
        );
        assert_eq!(
            repair.admit(Track::Video, 90, 157),
            Admission::Repaired {
                dts: 101,
                pts: 167,
                from: 90
            }
        );
        assert_eq!(
            repair.admit(Track::Video, 123, 190),
            Admission::Kept { dts: 133, pts: 200 }
        );
    }
}
