//! What callers hand to the uploader and what they get back.

use bytes::Bytes;
use nova_media::ObjectMeta;
use serde::{Deserialize, Serialize};

/// How a job relates to the jobs submitted before it in the same group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Ordering {
    /// Starts as soon as a slot is free (media segments).
    Parallel,
    /// Starts only once every earlier job of its group has completed
    /// (a playlist must not name segments that are not in the store yet).
    AfterEarlier,
}

/// One object to store.
#[derive(Debug, Clone)]
pub struct UploadJob {
    pub key: String,
    pub body: Bytes,
    pub meta: ObjectMeta,
    /// Usually the stream; [`Ordering::AfterEarlier`] waits within it.
    pub group: String,
    pub ordering: Ordering,
    /// Handed back in the [`Completion`], and kept in the spool across restarts:
    /// whatever the caller needs to write its index row.
    pub tag: serde_json::Value,
}

impl UploadJob {
    /// A job with no group, no ordering constraint and a null tag.
    pub fn new(key: impl Into<String>, body: Bytes, meta: ObjectMeta) -> Self {
        Self {
            key: key.into(),
            body,
            meta,
            group: String::new(),
            ordering: Ordering::Parallel,
            tag: serde_json::Value::Null,
        }
    }

    pub fn in_group(mut self, group: impl Into<String>, ordering: Ordering) -> Self {
        self.group = group.into();
        self.ordering = ordering;
        self
    }

    pub fn with_tag(mut self, tag: serde_json::Value) -> Self {
        self.tag = tag;
        self
    }

    pub(crate) fn split(self) -> (JobHeader, Bytes) {
        let header = JobHeader {
            key: self.key,
            meta: self.meta,
            group: self.group,
            ordering: self.ordering,
            tag: self.tag,
            size: self.body.len() as u64,
        };
        (header, self.body)
    }
}

/// Everything about a job but its body: what the spool keeps beside the data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct JobHeader {
    pub key: String,
    pub meta: ObjectMeta,
    pub group: String,
    pub ordering: Ordering,
    pub tag: serde_json::Value,
    pub size: u64,
}

/// Reported once per job. Delivery is at least once: a crash between the
/// upload and the removal of its spool files uploads and reports it again
/// after restart, so the caller's index write must be idempotent.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    pub key: String,
    pub size: u64,
    pub tag: serde_json::Value,
    /// `Ok` once the object exists in the store; `Err` when the store refused
    /// the job for good (an invalid key, a request it will never accept).
    pub result: Result<(), String>,
}
