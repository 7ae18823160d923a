//! Who hears that a recording became playable.

use uuid::Uuid;

use crate::index::RecordingRow;

/// Told when a recording becomes playable as VOD (for `recording.ready`):
/// by the recorder when its last object is stored, and after a crash by
/// [`crate::reconcile_recovered`] for the recordings it closed.
pub trait RecordingObserver: Send + Sync + 'static {
    fn recording_ready(&self, recording: &RecordingRow);

    /// The recorder stopped storing a live recording's segments (a full
    /// disk or spool): the recording gets a gap from here on.
    fn recording_paused(&self, _stream: Uuid, _recording: Uuid, _reason: &str) {}

    /// Storing resumed after `skipped` segments were left out.
    fn recording_resumed(&self, _stream: Uuid, _recording: Uuid, _skipped: u64) {}
}
