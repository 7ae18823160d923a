//! One job's upload: read the body back from the spool if needed, then put
//! it, retrying with backoff while the errors say trying again may help.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use nova_media::{ObjectMeta, ObjectStore, ObjectStoreError};

use super::backoff::Backoff;
use super::cause::Cause;
use super::spool::Spool;
use super::stats::SharedStats;

pub(crate) struct Task {
    pub seq: u64,
    pub key: String,
    pub meta: ObjectMeta,
    /// `None`: read it from the spool.
    pub body: Option<Bytes>,
    pub attempts: u32,
    pub retry_base: Duration,
    pub retry_cap: Duration,
}

#[derive(Debug)]
pub(crate) enum Outcome {
    Uploaded,
    /// The last error; retryable ones mean the store looks down.
    Failed(ObjectStoreError),
    /// The spooled body is gone or unreadable: nothing left to upload.
    Lost(std::io::Error),
}

pub(crate) async fn run(
    store: Arc<dyn ObjectStore>,
    spool: Spool,
    stats: Arc<SharedStats>,
    task: Task,
) -> Outcome {
    let body = match task.body {
        Some(body) => body,
        None => {
            let spool = spool.clone();
            let seq = task.seq;
            match tokio::task::spawn_blocking(move || spool.read_body(seq)).await {
                Ok(Ok(body)) => body,
                Ok(Err(e)) => return Outcome::Lost(e),
                Err(e) => return Outcome::Lost(std::io::Error::other(e)),
            }
        }
    };
    let mut backoff = Backoff::new(task.retry_base, task.retry_cap);
    let mut attempt = 1;
    loop {
        match store.put(&task.key, body.clone(), &task.meta).await {
            Ok(()) => return Outcome::Uploaded,
            Err(e) => {
                stats.failed_attempt(&e);
                metrics::counter!(crate::metrics::UPLOAD_FAILURES, "cause" => Cause::of(&e).label())
                    .increment(1);
                if !e.is_retryable() || attempt >= task.attempts {
                    return Outcome::Failed(e);
                }
                tracing::debug!(key = task.key, attempt, error = %e, "upload failed; retrying");
            }
        }
        tokio::time::sleep(backoff.next_delay()).await;
        attempt += 1;
    }
}
