//! Who hears that a recording became playable.

use crate::index::RecordingRow;

/// Told when a recording becomes playable as VOD (for `recording.ready`):
/// by the recorder when its last object is stored, and after a crash by
/// [`crate::reconcile_recovered`] for the recordings it closed.
pub trait RecordingObserver: Send + Sync + 'static {
    fn recording_ready(&self, recording: &RecordingRow);
}
