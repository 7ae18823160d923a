//! Whether recording may go on: a full disk or a full spool pauses it
//! while live playback goes on.
//!
//! Several watchers each own one reason (the disk watermark, the spool
//! cap); the recorder checks the gate before storing each media segment and
//! skips segments while any reason holds, so the recording gets a gap (a
//! discontinuity) instead of objects a full disk would truncate.

use std::collections::BTreeMap;
use std::sync::Mutex;

#[derive(Debug, Default)]
pub struct RecordingGate {
    /// Why recording is paused, by the watcher that said so.
    reasons: Mutex<BTreeMap<&'static str, String>>,
}

impl RecordingGate {
    /// Sets (`Some`) or clears (`None`) the reason `source` pauses recording.
    pub fn set(&self, source: &'static str, reason: Option<String>) {
        let mut reasons = self.lock();
        match reason {
            Some(reason) => {
                reasons.insert(source, reason);
            }
            None => {
                reasons.remove(source);
            }
        }
    }

    /// Why recording is paused; `None` while it may go on.
    pub fn paused(&self) -> Option<String> {
        let reasons = self.lock();
        (!reasons.is_empty()).then(|| reasons.values().cloned().collect::<Vec<_>>().join("; "))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<&'static str, String>> {
        // A map of strings stays valid whatever panicked while holding it.
        self.reasons.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paused_while_any_reason_holds() {
        let gate = RecordingGate::default();
        assert_eq!(gate.paused(), None);
        gate.set("disk", Some("disk full".into()));
        gate.set("spool", Some("spool full".into()));
        assert_eq!(gate.paused().as_deref(), Some("disk full; spool full"));
        gate.set("disk", None);
        assert_eq!(gate.paused().as_deref(), Some("spool full"));
        gate.set("spool", None);
        assert_eq!(gate.paused(), None);
    }
}
