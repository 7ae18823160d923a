//! The ingest health of one live stream, measured from what reaches its
//! packager over the last few seconds. Sans-IO: the caller passes the time,
//! so the rules are tested without a clock, a socket or a packager.
//!
//! Arrival times are those on the packager thread, which the hub wakes per
//! batch (at most about half a second of frames) and at every keyframe: the
//! window is long enough that batching blurs none of the rules below.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use nova_api::RenditionHealth;
use nova_media::{StreamEvent, Track};
use nova_packager::PackagerCounters;

use super::measures::{Measures, WINDOW};
use super::warnings::{self, Warning};

/// One thing the packager thread saw, without the frame's payload.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Input {
    /// A publisher was attached; its segments are cut after this long.
    SessionStarted { target_segment: Duration },
    Frame {
        track: Track,
        dts: i64,
        keyframe: bool,
        bytes: usize,
    },
    /// The publisher went away (it may come back within the reconnect window).
    SessionStopped,
}

impl Input {
    pub fn of(event: &StreamEvent) -> Option<Self> {
        match event {
            StreamEvent::PublishStarted { settings, .. } => Some(Self::SessionStarted {
                target_segment: settings.target_segment_duration,
            }),
            StreamEvent::Frame(frame) => Some(Self::Frame {
                track: frame.track,
                dts: frame.dts,
                keyframe: frame.keyframe,
                bytes: frame.data.len(),
            }),
            StreamEvent::PublishStopped { .. } | StreamEvent::StreamEnded => {
                Some(Self::SessionStopped)
            }
            StreamEvent::VideoConfig(_)
            | StreamEvent::AudioConfig(_)
            | StreamEvent::FramesDropped { .. } => None,
        }
    }
}

/// The health of the stream now.
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    pub video_bitrate_kbps: u32,
    pub audio_bitrate_kbps: u32,
    /// Video frames per second, to a tenth.
    pub frame_rate: f64,
    pub keyframe_interval_ms: Option<u32>,
    /// How far audio timestamps run ahead of video's (negative: behind) as
    /// the two tracks arrive, averaged over the window; `None` unless both
    /// tracks arrived in it.
    pub av_drift_ms: Option<i32>,
    /// Since the stream went live.
    pub frames_dropped: u64,
    /// Since the stream went live.
    pub timestamp_repairs: u64,
    pub warnings: Vec<Warning>,
    pub renditions: Vec<RenditionHealth>,
}

#[derive(Clone, Copy, Debug)]
struct Sample {
    at: Instant,
    track: Track,
    bytes: u64,
    dts: i64,
    /// The newest audio DTS minus the newest video DTS once this frame
    /// arrived, when both tracks had arrived.
    av_offset: Option<i64>,
}

/// The running totals health reports, since the stream went live.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Frames the hub dropped before they reached the packager.
    pub dropped: u64,
    /// Frames whose timestamps the hub repaired: the encoder sent a DTS
    /// that went backwards or repeated.
    pub repaired: u64,
}

impl Tally {
    /// `timestamp_repairs` is the hub's count (the feed's
    /// `Subscription::timestamp_repairs`).
    pub fn of(packager: &PackagerCounters, timestamp_repairs: u64) -> Self {
        Self {
            dropped: packager.frames_dropped_upstream,
            repaired: timestamp_repairs,
        }
    }
}

/// The counters over the window: the latest totals, and their values as of
/// the window's start (the last change before it).
#[derive(Debug, Default)]
struct CounterWindow {
    latest: Tally,
    baseline: Tally,
    changes: VecDeque<(Instant, Tally)>,
}

impl CounterWindow {
    fn record(&mut self, tally: Tally, now: Instant) {
        if tally != self.latest {
            self.latest = tally;
            self.changes.push_back((now, tally));
        }
    }

    fn evict(&mut self, since: Instant) {
        while let Some(&(at, tally)) = self.changes.front() {
            if at >= since {
                break;
            }
            self.baseline = tally;
            self.changes.pop_front();
        }
    }

    fn recent(&self) -> Tally {
        Tally {
            dropped: self.latest.dropped - self.baseline.dropped,
            repaired: self.latest.repaired - self.baseline.repaired,
        }
    }
}

#[derive(Debug)]
struct Session {
    started: Instant,
    target_segment: Duration,
    samples: VecDeque<Sample>,
    /// Sums over `samples`.
    video_bytes: u64,
    audio_bytes: u64,
    video_frames: u64,
    audio_frames: u64,
    av_offset_sum: i64,
    av_offsets: u64,
    last_arrival: Option<Instant>,
    first_video_dts: Option<i64>,
    latest_video_dts: Option<i64>,
    latest_audio_dts: Option<i64>,
    last_keyframe_dts: Option<i64>,
    keyframe_interval_ms: Option<u64>,
}

impl Session {
    fn new(started: Instant, target_segment: Duration) -> Self {
        Self {
            started,
            target_segment,
            samples: VecDeque::new(),
            video_bytes: 0,
            audio_bytes: 0,
            video_frames: 0,
            audio_frames: 0,
            av_offset_sum: 0,
            av_offsets: 0,
            last_arrival: None,
            first_video_dts: None,
            latest_video_dts: None,
            latest_audio_dts: None,
            last_keyframe_dts: None,
            keyframe_interval_ms: None,
        }
    }

    fn frame(&mut self, track: Track, dts: i64, keyframe: bool, bytes: usize, now: Instant) {
        let bytes = bytes as u64;
        match track {
            Track::Video => {
                self.video_bytes += bytes;
                self.video_frames += 1;
                self.first_video_dts.get_or_insert(dts);
                self.latest_video_dts = Some(self.latest_video_dts.map_or(dts, |l| l.max(dts)));
                if keyframe {
                    if let Some(previous) = self.last_keyframe_dts
                        && dts > previous
                    {
                        self.keyframe_interval_ms = u64::try_from(dts - previous).ok();
                    }
                    self.last_keyframe_dts = Some(dts);
                }
            }
            Track::Audio => {
                self.audio_bytes += bytes;
                self.audio_frames += 1;
                self.latest_audio_dts = Some(self.latest_audio_dts.map_or(dts, |l| l.max(dts)));
            }
        }
        // Both tracks are stamped from one clock and sent interleaved, so
        // the newest of each stays within a frame or two of the other;
        // an encoder whose audio and video clocks disagree lets the gap grow.
        let av_offset = self
            .latest_audio_dts
            .zip(self.latest_video_dts)
            // Clamped, so sums over the window cannot overflow whatever
            // timestamps an encoder sends.
            .map(|(audio, video)| {
                let bound = i64::from(i32::MAX);
                audio.saturating_sub(video).clamp(-bound, bound)
            });
        if let Some(offset) = av_offset {
            self.av_offset_sum += offset;
            self.av_offsets += 1;
        }
        self.samples.push_back(Sample {
            at: now,
            track,
            bytes,
            dts,
            av_offset,
        });
        self.last_arrival = Some(now);
    }

    fn evict(&mut self, since: Instant) {
        while let Some(sample) = self.samples.front() {
            if sample.at >= since {
                break;
            }
            match sample.track {
                Track::Video => {
                    self.video_bytes -= sample.bytes;
                    self.video_frames -= 1;
                }
                Track::Audio => {
                    self.audio_bytes -= sample.bytes;
                    self.audio_frames -= 1;
                }
            }
            if let Some(offset) = sample.av_offset {
                self.av_offset_sum -= offset;
                self.av_offsets -= 1;
            }
            self.samples.pop_front();
        }
    }

    /// Wall and media time spanned by the window's frames.
    fn spans(&self) -> (i64, i64) {
        match (self.samples.front(), self.samples.back()) {
            (Some(first), Some(last)) => {
                let wall = i64::try_from((last.at - first.at).as_millis()).unwrap_or(i64::MAX);
                let (low, high) = self
                    .samples
                    .iter()
                    .fold((i64::MAX, i64::MIN), |(low, high), s| {
                        (low.min(s.dts), high.max(s.dts))
                    });
                (wall, high - low)
            }
            _ => (0, 0),
        }
    }

    /// `None` unless both tracks arrived within the window.
    fn av_drift_ms(&self) -> Option<i32> {
        if self.video_frames == 0 || self.audio_frames == 0 || self.av_offsets == 0 {
            return None;
        }
        let mean = self.av_offset_sum as f64 / self.av_offsets as f64;
        Some(mean.round().clamp(i32::MIN as f64, i32::MAX as f64) as i32)
    }

    fn keyframe_wait_ms(&self) -> Option<u64> {
        let latest = self.latest_video_dts?;
        let since = self.last_keyframe_dts.or(self.first_video_dts)?;
        let waiting = u64::try_from(latest - since).unwrap_or(0);
        Some(
            self.keyframe_interval_ms
                .map_or(waiting, |i| i.max(waiting)),
        )
    }
}

/// Health of one stream. Fed by the packager thread, read by the API and
/// the health monitor.
#[derive(Debug, Default)]
pub struct HealthTracker {
    /// `None` while no publisher is attached.
    session: Option<Session>,
    counters: CounterWindow,
    renditions: Vec<RenditionHealth>,
    /// Warnings about the server's handling of the stream rather than its
    /// input; they last as long as the stream.
    notices: Vec<Warning>,
}

impl HealthTracker {
    pub fn observe(&mut self, input: Input, now: Instant) {
        match input {
            Input::SessionStarted { target_segment } => {
                self.session = Some(Session::new(now, target_segment));
            }
            Input::Frame {
                track,
                dts,
                keyframe,
                bytes,
            } => {
                if let Some(session) = &mut self.session {
                    session.frame(track, dts, keyframe, bytes, now);
                }
            }
            Input::SessionStopped => self.session = None,
        }
        self.evict(now);
    }

    /// The transcoded renditions as the packager's ladder last reported them.
    /// The stream is packaged passthrough although it asked for `abr`.
    pub fn ladder_refused(&mut self, limit: usize) {
        let notice = warnings::transcode_limit(limit);
        self.notices.retain(|n| n.kind != notice.kind);
        self.notices.push(notice);
    }

    pub fn renditions(&mut self, renditions: Vec<RenditionHealth>) {
        self.renditions = renditions;
    }

    /// The running totals after the packager handled an event.
    pub fn counters(&mut self, tally: Tally, now: Instant) {
        self.counters.record(tally, now);
    }

    /// `None` while no publisher is attached.
    pub fn snapshot(&mut self, now: Instant) -> Option<Snapshot> {
        self.evict(now);
        let recent = self.counters.recent();
        let totals = self.counters.latest;
        let session = self.session.as_ref()?;
        let age = now.saturating_duration_since(session.started);
        let (wall_ms, media_ms) = session.spans();
        // Rates over the time the window's frames cover. Frames arrive in
        // batches, so a window of wall time holds a batch more or less of
        // media; their timestamps say exactly how much. When frames stop
        // coming, the window's wall time (or the session's age, early on)
        // is longer, and the rates fall as they should. At least a second,
        // so a first burst is not a spike.
        let wall = age.min(WINDOW).as_secs_f64();
        let span = (media_ms as f64 / 1000.0).max(wall).max(1.0);
        let kbps = |bytes: u64| (bytes as f64 * 8.0 / 1000.0 / span).round() as u32;
        let measures = Measures {
            target_segment: session.target_segment,
            session_age: age,
            silent_for: now
                .saturating_duration_since(session.last_arrival.unwrap_or(session.started)),
            video_frames: session.video_frames,
            audio_frames: session.audio_frames,
            keyframe_wait_ms: session.keyframe_wait_ms(),
            av_drift_ms: session.av_drift_ms(),
            wall_ms,
            media_ms,
            frames_dropped: recent.dropped,
            timestamps_repaired: recent.repaired,
        };
        Some(Snapshot {
            video_bitrate_kbps: kbps(session.video_bytes),
            audio_bitrate_kbps: kbps(session.audio_bytes),
            frame_rate: (session.video_frames as f64 / span * 10.0).round() / 10.0,
            keyframe_interval_ms: session
                .keyframe_interval_ms
                .and_then(|ms| u32::try_from(ms).ok()),
            av_drift_ms: measures.av_drift_ms,
            frames_dropped: totals.dropped,
            timestamp_repairs: totals.repaired,
            warnings: warnings::judge(&measures)
                .into_iter()
                .chain(self.notices.iter().cloned())
                .collect(),
            renditions: self.renditions.clone(),
        })
    }

    fn evict(&mut self, now: Instant) {
        if let Some(since) = now.checked_sub(WINDOW) {
            if let Some(session) = &mut self.session {
                session.evict(since);
            }
            self.counters.evict(since);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::warnings::WarningKind;

    const TARGET: Duration = Duration::from_secs(2);

    /// A synthetic encoder: 30 fps video and 43 audio frames a second
    /// (AAC at 44.1 kHz), delivered in batches like the packager's feed.
    struct Encoder {
        tracker: HealthTracker,
        start: Instant,
        /// Media time sent so far, in ms.
        media_ms: i64,
        /// Wall time at which the next batch arrives, in ms from `start`.
        wall_ms: i64,
        /// Video frames from one keyframe to the next.
        gop_frames: i64,
        video_bytes: usize,
        audio_bytes: usize,
        audio: bool,
        /// Added to audio timestamps but not to when audio is sent, like an
        /// encoder that sends frames as captured but stamps audio from a
        /// clock of its own.
        audio_lead_ms: i64,
        /// Media delivered per wakeup of the packager thread.
        batch_ms: i64,
    }

    impl Encoder {
        fn new() -> Self {
            let start = Instant::now();
            let mut tracker = HealthTracker::default();
            tracker.observe(
                Input::SessionStarted {
                    target_segment: TARGET,
                },
                start,
            );
            Self {
                tracker,
                start,
                media_ms: 0,
                wall_ms: 0,
                gop_frames: 60,
                // 2500 kbps of video, 128 kbps of audio.
                video_bytes: 2_500_000 / 8 / 30,
                audio_bytes: 128_000 / 8 / 43,
                audio: true,
                audio_lead_ms: 0,
                batch_ms: 500,
            }
        }

        fn at(&self, wall_ms: i64) -> Instant {
            self.start + Duration::from_millis(wall_ms as u64)
        }

        /// Sends `media_ms` of media over `wall_ms` of wall time, in
        /// batches of `batch_ms`.
        fn send(&mut self, media_ms: i64, wall_ms: i64) {
            let batches = (media_ms / self.batch_ms).max(1);
            let (media_start, wall_start) = (self.media_ms, self.wall_ms);
            for batch in 0..batches {
                let until = media_start + media_ms * (batch + 1) / batches;
                let arrival = self.at(wall_start + wall_ms * (batch + 1) / batches);
                let mut frames = Vec::new();
                let mut video = next_multiple(self.media_ms, 33);
                while video < until {
                    frames.push((Track::Video, video, (video / 33) % self.gop_frames == 0));
                    video += 33;
                }
                if self.audio {
                    let mut audio = next_multiple(self.media_ms, 23);
                    while audio < until {
                        frames.push((Track::Audio, audio, true));
                        audio += 23;
                    }
                }
                frames.sort_by_key(|f| f.1);
                for (track, captured, keyframe) in frames {
                    let (bytes, dts) = match track {
                        Track::Video => (self.video_bytes, captured),
                        Track::Audio => (self.audio_bytes, captured + self.audio_lead_ms),
                    };
                    self.tracker.observe(
                        Input::Frame {
                            track,
                            dts,
                            keyframe,
                            bytes,
                        },
                        arrival,
                    );
                }
                self.media_ms = until;
            }
            self.wall_ms += wall_ms;
        }

        fn real_time(&mut self, ms: i64) {
            self.send(ms, ms);
        }

        fn snapshot_after(&mut self, idle_ms: i64) -> Snapshot {
            let now = self.at(self.wall_ms + idle_ms);
            self.tracker.snapshot(now).expect("a publisher is attached")
        }

        fn snapshot(&mut self) -> Snapshot {
            self.snapshot_after(0)
        }
    }

    /// The first multiple of `step` at or after `from` (both non-negative).
    fn next_multiple(from: i64, step: i64) -> i64 {
        (from + step - 1) / step * step
    }

    fn kinds(snapshot: &Snapshot) -> Vec<WarningKind> {
        snapshot.warnings.iter().map(|w| w.kind).collect()
    }

    #[test]
    fn a_steady_stream_measures_its_rates_and_has_no_warnings() {
        let mut encoder = Encoder::new();
        encoder.real_time(12_000);
        let health = encoder.snapshot();
        assert!(
            (2400..=2600).contains(&health.video_bitrate_kbps),
            "{health:?}"
        );
        assert!(
            (120..=136).contains(&health.audio_bitrate_kbps),
            "{health:?}"
        );
        assert!((29.0..=31.0).contains(&health.frame_rate), "{health:?}");
        assert_eq!(health.keyframe_interval_ms, Some(1980), "{health:?}");
        assert_eq!(health.frames_dropped, 0);
        let drift = health.av_drift_ms.expect("both tracks arrived");
        assert!(drift.abs() <= 23, "within a frame: {health:?}");
        assert!(health.warnings.is_empty(), "{health:?}");
    }

    #[test]
    fn audio_stamped_apart_from_video_is_drift_and_warned_once_it_is_large() {
        for (lead_ms, warned) in [(-300, false), (700, true), (-1_200, true)] {
            let mut encoder = Encoder::new();
            encoder.audio_lead_ms = lead_ms;
            encoder.real_time(8_000);
            let health = encoder.snapshot();
            let drift = i64::from(health.av_drift_ms.expect("both tracks arrived"));
            assert!((drift - lead_ms).abs() <= 23, "{lead_ms}: {health:?}");
            let kinds = kinds(&health);
            assert_eq!(kinds.contains(&WarningKind::AvDrift), warned, "{health:?}");
        }
    }

    #[test]
    fn drift_follows_the_encoder_over_the_window() {
        let mut encoder = Encoder::new();
        encoder.real_time(6_000);
        assert!(encoder.snapshot().av_drift_ms.unwrap().abs() <= 23);
        // The audio clock jumps ahead mid-session.
        encoder.audio_lead_ms = 1_500;
        encoder.real_time(8_000);
        let health = encoder.snapshot();
        assert!(
            (health.av_drift_ms.unwrap() - 1_500).abs() <= 23,
            "{health:?}"
        );
    }

    #[test]
    fn long_keyframe_intervals_say_what_to_set() {
        let mut encoder = Encoder::new();
        encoder.gop_frames = 253; // 8.349 s
        encoder.real_time(20_000);
        let health = encoder.snapshot();
        assert_eq!(kinds(&health), [WarningKind::KeyframeInterval]);
        let message = &health.warnings[0].message;
        assert!(
            message.contains("8.3 s") && message.contains("to 2 s") && message.contains("OBS"),
            "{message}"
        );
    }

    #[test]
    fn a_keyframe_that_never_comes_is_noticed_before_the_second_one() {
        let mut encoder = Encoder::new();
        encoder.gop_frames = 1_000_000;
        encoder.real_time(1_000);
        assert!(encoder.snapshot().warnings.is_empty());
        encoder.real_time(3_000);
        let health = encoder.snapshot();
        assert_eq!(health.keyframe_interval_ms, None);
        assert_eq!(kinds(&health), [WarningKind::KeyframeInterval]);
    }

    #[test]
    fn an_encoder_that_goes_quiet_is_stalled_and_its_rates_fall() {
        let mut encoder = Encoder::new();
        encoder.real_time(10_000);
        assert!(encoder.snapshot_after(2_000).warnings.is_empty());
        let quiet = encoder.snapshot_after(4_000);
        assert!(kinds(&quiet).contains(&WarningKind::Stalled), "{quiet:?}");
        assert!(quiet.video_bitrate_kbps < 1000, "{quiet:?}");
        let gone = encoder.snapshot_after(6_000);
        assert_eq!(gone.video_bitrate_kbps, 0);
        assert_eq!(gone.frame_rate, 0.0);
        assert!(gone.warnings[0].message.contains("6 s"), "{gone:?}");
    }

    #[test]
    fn media_slower_than_real_time_is_falling_behind() {
        let mut encoder = Encoder::new();
        encoder.real_time(6_000);
        // 6 s of media over 10 s of wall time.
        encoder.send(6_000, 10_000);
        let behind = encoder.snapshot();
        assert_eq!(kinds(&behind), [WarningKind::FallingBehind], "{behind:?}");
        assert!(
            behind.warnings[0].message.contains("Video Bitrate"),
            "{behind:?}"
        );
        // Back to real time: the warning clears once the window has passed.
        encoder.real_time(6_000);
        assert!(encoder.snapshot().warnings.is_empty());
    }

    #[test]
    fn bursts_that_keep_up_on_average_are_not_falling_behind() {
        let mut encoder = Encoder::new();
        // Two seconds of media at once, after two seconds of nothing.
        encoder.batch_ms = 2_000;
        encoder.real_time(20_000);
        assert!(encoder.snapshot().warnings.is_empty());
    }

    #[test]
    fn repairs_and_drops_warn_while_recent_and_count_forever() {
        let mut encoder = Encoder::new();
        encoder.real_time(3_000);
        let packager = PackagerCounters {
            frames_dropped_upstream: 40,
            ..PackagerCounters::default()
        };
        let counters = Tally::of(&packager, 4);
        encoder
            .tracker
            .counters(counters, encoder.at(encoder.wall_ms));
        let recent = encoder.snapshot();
        assert_eq!(
            kinds(&recent),
            [WarningKind::TimestampRepairs, WarningKind::FramesDropped]
        );
        assert!(
            recent.warnings[0].message.contains("4 frames"),
            "{recent:?}"
        );
        assert!(
            recent.warnings[1].message.contains("40 frames"),
            "{recent:?}"
        );
        assert_eq!((recent.timestamp_repairs, recent.frames_dropped), (4, 40));

        // The same totals again are not news.
        encoder.real_time(6_000);
        encoder
            .tracker
            .counters(counters, encoder.at(encoder.wall_ms));
        let later = encoder.snapshot();
        assert!(later.warnings.is_empty(), "{later:?}");
        assert_eq!((later.timestamp_repairs, later.frames_dropped), (4, 40));
    }

    #[test]
    fn video_without_audio_warns_but_audio_only_streams_do_not() {
        let mut silent = Encoder::new();
        silent.audio = false;
        silent.real_time(3_000);
        assert!(silent.snapshot().warnings.is_empty(), "too early to tell");
        silent.real_time(4_000);
        assert_eq!(kinds(&silent.snapshot()), [WarningKind::NoAudio]);

        let start = Instant::now();
        let mut tracker = HealthTracker::default();
        tracker.observe(
            Input::SessionStarted {
                target_segment: TARGET,
            },
            start,
        );
        for n in 0..400 {
            let dts = n * 23;
            tracker.observe(
                Input::Frame {
                    track: Track::Audio,
                    dts,
                    keyframe: true,
                    bytes: 370,
                },
                start + Duration::from_millis(dts as u64),
            );
        }
        let health = tracker
            .snapshot(start + Duration::from_millis(400 * 23))
            .unwrap();
        assert!(health.warnings.is_empty(), "{health:?}");
        assert_eq!(health.av_drift_ms, None, "one track has no drift");
        assert_eq!(health.video_bitrate_kbps, 0);
        assert!(
            (120..=136).contains(&health.audio_bitrate_kbps),
            "{health:?}"
        );
    }

    #[test]
    fn no_publisher_no_health_and_a_new_one_starts_afresh() {
        let mut encoder = Encoder::new();
        encoder.gop_frames = 240;
        encoder.real_time(10_000);
        let stop = encoder.at(encoder.wall_ms);
        encoder.tracker.observe(Input::SessionStopped, stop);
        assert_eq!(encoder.tracker.snapshot(stop), None);
        encoder.tracker.observe(
            Input::SessionStarted {
                target_segment: TARGET,
            },
            stop,
        );
        let fresh = encoder.tracker.snapshot(stop).unwrap();
        assert_eq!(fresh.keyframe_interval_ms, None);
        assert_eq!(fresh.video_bitrate_kbps, 0);
    }

    #[test]
    fn memory_is_bounded_by_the_window_even_if_nobody_reads() {
        let mut encoder = Encoder::new();
        encoder.real_time(60_000);
        let session = encoder.tracker.session.as_ref().unwrap();
        // 5 s of 30 + 43 frames a second, plus a batch.
        assert!(session.samples.len() < 6 * 73, "{}", session.samples.len());
    }
}
