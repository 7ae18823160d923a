//! Ingest health of live streams: each packager thread feeds its stream's
//! [`HealthTracker`] on the [`HealthBoard`]; the API reads snapshots from the
//! board (through `HubControl`), and the monitor announces new warnings on
//! the live event bus.

mod measures;
pub mod renditions;
mod tracker;
mod warnings;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use chrono::Utc;
use nova_api::{EventBus, EventPayload, HealthWarningEvent, IngestHealth};
use nova_media::StreamId;
use tokio::task::JoinHandle;

pub use self::tracker::{HealthTracker, Input, Snapshot, Tally};
use self::warnings::WarningKind;

/// Streams whose packaging failed are remembered this many at most (the
/// oldest forgotten first), so their owners can read why.
const FAILURES_KEPT: usize = 256;

/// The trackers of the streams being packaged on this server, and why the
/// packaging of recent streams failed.
#[derive(Default)]
pub struct HealthBoard {
    streams: Mutex<HashMap<StreamId, Arc<Mutex<HealthTracker>>>>,
    /// Why recording is paused on this server (a full disk or spool): a
    /// warning on every live stream, since every recording has the gap.
    recording_paused: Mutex<Option<String>>,
    failures: Mutex<VecDeque<(StreamId, IngestHealth)>>,
}

impl HealthBoard {
    /// A fresh tracker for a stream that just went live.
    pub fn track(&self, stream: StreamId) -> Arc<Mutex<HealthTracker>> {
        lock(&self.failures).retain(|(failed, _)| *failed != stream);
        let tracker = Arc::new(Mutex::new(HealthTracker::default()));
        lock(&self.streams).insert(stream, tracker.clone());
        tracker
    }

    /// The stream ended. Only its own tracker is removed: the stream may
    /// already be live again, with a new tracker from a new packager.
    pub fn forget(&self, stream: StreamId, tracker: &Arc<Mutex<HealthTracker>>) {
        let mut streams = lock(&self.streams);
        if streams
            .get(&stream)
            .is_some_and(|current| Arc::ptr_eq(current, tracker))
        {
            streams.remove(&stream);
        }
    }

    /// Sets (`Some`, the message streamers read) or clears the warning
    /// that recording is paused server-wide.
    pub fn set_recording_paused(&self, message: Option<String>) {
        *lock(&self.recording_paused) = message;
    }

    /// The stream's packaging failed and the stream was ended: its health
    /// says why until it goes live again.
    pub fn fail(&self, stream: StreamId, tracker: &Arc<Mutex<HealthTracker>>, reason: &str) {
        self.forget(stream, tracker);
        let last = lock(tracker).snapshot(Instant::now()).map(to_api);
        let warning = format!(
            "The server failed to package this stream ({reason}) and ended it. This is on \
             the server's side, not your encoder's; other streams were not affected. \
             Publishing again starts the stream afresh."
        );
        let health = IngestHealth {
            warnings: vec![warning],
            renditions: Vec::new(),
            measured_at: Utc::now(),
            ..last.unwrap_or_else(idle)
        };
        let mut failures = lock(&self.failures);
        failures.retain(|(failed, _)| *failed != stream);
        if failures.len() >= FAILURES_KEPT {
            failures.pop_front();
        }
        failures.push_back((stream, health));
    }

    /// The stream's health now; `None` unless a publisher is attached or
    /// its packaging failed.
    pub fn health(&self, stream: StreamId) -> Option<IngestHealth> {
        let tracker = lock(&self.streams).get(&stream).cloned();
        if let Some(snapshot) = tracker.and_then(|t| lock(&t).snapshot(Instant::now())) {
            return Some(to_api(self.with_server_warnings(snapshot)));
        }
        lock(&self.failures)
            .iter()
            .find(|(failed, _)| *failed == stream)
            .map(|(_, health)| health.clone())
    }

    fn with_server_warnings(&self, mut snapshot: Snapshot) -> Snapshot {
        if let Some(message) = lock(&self.recording_paused).clone() {
            snapshot.warnings.push(warnings::Warning {
                kind: WarningKind::RecordingPaused,
                message,
            });
        }
        snapshot
    }

    fn snapshots(&self) -> Vec<(StreamId, Snapshot)> {
        let trackers: Vec<_> = lock(&self.streams)
            .iter()
            .map(|(stream, tracker)| (*stream, tracker.clone()))
            .collect();
        let now = Instant::now();
        trackers
            .into_iter()
            .filter_map(|(stream, tracker)| {
                let snapshot = lock(&tracker).snapshot(now)?;
                Some((stream, self.with_server_warnings(snapshot)))
            })
            .collect()
    }
}

fn to_api(snapshot: Snapshot) -> IngestHealth {
    IngestHealth {
        video_bitrate_kbps: snapshot.video_bitrate_kbps,
        audio_bitrate_kbps: snapshot.audio_bitrate_kbps,
        frame_rate: snapshot.frame_rate,
        keyframe_interval_ms: snapshot.keyframe_interval_ms,
        av_drift_ms: snapshot.av_drift_ms,
        frames_dropped: snapshot.frames_dropped,
        timestamp_repairs: snapshot.timestamp_repairs,
        warnings: snapshot.warnings.into_iter().map(|w| w.message).collect(),
        renditions: snapshot.renditions,
        measured_at: Utc::now(),
    }
}

/// The health of a stream with nothing measured.
fn idle() -> IngestHealth {
    IngestHealth {
        video_bitrate_kbps: 0,
        audio_bitrate_kbps: 0,
        frame_rate: 0.0,
        keyframe_interval_ms: None,
        av_drift_ms: None,
        frames_dropped: 0,
        timestamp_repairs: 0,
        warnings: Vec::new(),
        renditions: Vec::new(),
        measured_at: Utc::now(),
    }
}

/// How often the monitor looks for new warnings.
const MONITOR_PERIOD: Duration = Duration::from_secs(1);

/// Publishes a `health_warning` event when a kind of warning appears on a
/// stream that did not have it at the last look (a warning that persists
/// is announced once; one that clears and comes back, again). Abort the
/// task to stop it.
pub fn spawn_monitor(board: Arc<HealthBoard>, events: Arc<EventBus>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut announced = Announced::default();
        let mut tick = tokio::time::interval(MONITOR_PERIOD);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            for (stream, health, kind, message) in announced.news(board.snapshots()) {
                tracing::info!(%stream, warning = kind.code(), "{message}");
                let warning = HealthWarningEvent {
                    code: kind.code().to_owned(),
                    warning: message,
                    health,
                };
                events.publish(stream.0, EventPayload::HealthWarning(warning));
            }
        }
    })
}

/// The warning kinds each stream had at the last look.
#[derive(Default)]
struct Announced {
    streams: HashMap<StreamId, HashSet<WarningKind>>,
}

impl Announced {
    /// The warnings that are new since the last look, with the health they
    /// came with. Streams no longer on the board are forgotten.
    fn news(
        &mut self,
        snapshots: Vec<(StreamId, Snapshot)>,
    ) -> Vec<(StreamId, IngestHealth, WarningKind, String)> {
        let mut news = Vec::new();
        let mut now = HashMap::new();
        for (stream, snapshot) in snapshots {
            let before = self.streams.remove(&stream).unwrap_or_default();
            let kinds: HashSet<WarningKind> = snapshot.warnings.iter().map(|w| w.kind).collect();
            let fresh: Vec<_> = snapshot
                .warnings
                .iter()
                .filter(|w| !before.contains(&w.kind))
                .map(|w| (w.kind, w.message.clone()))
                .collect();
            if !fresh.is_empty() {
                let health = to_api(snapshot);
                for (kind, message) in fresh {
                    news.push((stream, health.clone(), kind, message));
                }
            }
            now.insert(stream, kinds);
        }
        self.streams = now;
        news
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::warnings::Warning;
    use super::*;

    fn snapshot(kinds: &[WarningKind]) -> Snapshot {
        Snapshot {
            video_bitrate_kbps: 1000,
            audio_bitrate_kbps: 128,
            frame_rate: 30.0,
            keyframe_interval_ms: Some(2000),
            av_drift_ms: Some(0),
            frames_dropped: 0,
            timestamp_repairs: 0,
            warnings: kinds
                .iter()
                .map(|&kind| Warning {
                    kind,
                    message: format!("{kind:?}"),
                })
                .collect(),
            renditions: Vec::new(),
        }
    }

    fn codes(
        news: &[(StreamId, IngestHealth, WarningKind, String)],
    ) -> Vec<(StreamId, WarningKind)> {
        news.iter().map(|(s, _, k, _)| (*s, *k)).collect()
    }

    #[test]
    fn each_warning_is_announced_when_it_appears() {
        let (a, b) = (StreamId::new_random(), StreamId::new_random());
        let mut announced = Announced::default();
        use WarningKind::{KeyframeInterval, Stalled};
        assert!(announced.news(vec![(a, snapshot(&[]))]).is_empty());
        let first = announced.news(vec![
            (a, snapshot(&[KeyframeInterval])),
            (b, snapshot(&[Stalled])),
        ]);
        assert_eq!(codes(&first).len(), 2);
        assert_eq!(first[0].1.warnings, ["KeyframeInterval"]);
        // Still there: not news. A second kind on the same stream is.
        let second = announced.news(vec![
            (a, snapshot(&[KeyframeInterval, Stalled])),
            (b, snapshot(&[Stalled])),
        ]);
        assert_eq!(codes(&second), [(a, Stalled)]);
        // Cleared, then back: news again. So is a stream that went away
        // and came back.
        announced.news(vec![(a, snapshot(&[]))]);
        let again = announced.news(vec![
            (a, snapshot(&[KeyframeInterval])),
            (b, snapshot(&[Stalled])),
        ]);
        assert_eq!(codes(&again), [(a, KeyframeInterval), (b, Stalled)]);
    }

    #[test]
    fn the_board_forgets_only_its_own_tracker() {
        let board = HealthBoard::default();
        let stream = StreamId::new_random();
        let old = board.track(stream);
        lock(&old).observe(
            Input::SessionStarted {
                target_segment: Duration::from_secs(2),
            },
            Instant::now(),
        );
        assert!(board.health(stream).is_some());
        // The stream restarted before the old packager thread finished.
        let new = board.track(stream);
        board.forget(stream, &old);
        assert!(
            board.health(stream).is_none(),
            "the new one has no publisher yet"
        );
        lock(&new).observe(
            Input::SessionStarted {
                target_segment: Duration::from_secs(2),
            },
            Instant::now(),
        );
        assert!(board.health(stream).is_some());
        board.forget(stream, &new);
        assert!(board.health(stream).is_none());
        assert!(board.snapshots().is_empty());
    }
}
