//! Where the muxers write: memory, never temp files.

use std::io::Write;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;

/// A growable buffer shared between a muxer's custom IO (the writer) and the
/// packager (which takes the bytes out at each segment cut).
///
/// Both sides run on the packager's thread; the mutex only satisfies the
/// `Send` bound of `StreamIo` and is never contended.
#[derive(Clone, Default)]
pub(crate) struct MemoryOutput(Arc<Mutex<Vec<u8>>>);

impl MemoryOutput {
    /// Everything written since the last call.
    pub(crate) fn take(&self) -> Bytes {
        Bytes::from(std::mem::take(&mut *self.lock()))
    }

    fn lock(&self) -> MutexGuard<'_, Vec<u8>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Write for MemoryOutput {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.lock().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
