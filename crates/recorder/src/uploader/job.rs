//! What callers hand to the uploader and what they get back.

use std::time::Instant;

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

/// One object to store, with the caller's `tag` for it.
#[derive(Debug, Clone)]
pub struct UploadJob<T> {
    pub key: String,
    pub body: Bytes,
    pub meta: ObjectMeta,
    /// Usually the stream; [`Ordering::AfterEarlier`] waits within it.
    pub group: String,
    pub ordering: Ordering,
    /// Handed back in the [`Completion`], and kept in the spool across restarts:
    /// whatever the caller needs to write its index row.
    pub tag: T,
    /// Since when the object has been ready to store (by default, when the
    /// job was made): `nova_upload_latency_seconds` counts from here.
    pub ready_at: Instant,
}

impl UploadJob<()> {
    /// A job with no group, no ordering constraint and no tag (`()`; see
    /// [`UploadJob::with_tag`]).
    pub fn new(key: impl Into<String>, body: Bytes, meta: ObjectMeta) -> Self {
        Self {
            key: key.into(),
            body,
            meta,
            group: String::new(),
            ordering: Ordering::Parallel,
            tag: (),
            ready_at: Instant::now(),
        }
    }
}

impl<T> UploadJob<T> {
    pub fn in_group(mut self, group: impl Into<String>, ordering: Ordering) -> Self {
        self.group = group.into();
        self.ordering = ordering;
        self
    }

    /// The object has been ready since `at` (e.g. when its segment closed,
    /// before it waited in the caller's own queue).
    pub fn ready_since(mut self, at: Instant) -> Self {
        self.ready_at = at;
        self
    }

    /// The same job with `tag` (of any type) instead of its tag.
    pub fn with_tag<U>(self, tag: U) -> UploadJob<U> {
        UploadJob {
            key: self.key,
            body: self.body,
            meta: self.meta,
            group: self.group,
            ordering: self.ordering,
            tag,
            ready_at: self.ready_at,
        }
    }

    pub(crate) fn split(self) -> (JobHeader<T>, Bytes) {
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

/// Everything about a job but its body: what the spool keeps beside the data
/// (as JSON, the tag included).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct JobHeader<T> {
    pub key: String,
    pub meta: ObjectMeta,
    pub group: String,
    pub ordering: Ordering,
    pub tag: T,
    pub size: u64,
}

/// Reported once per job. Delivery is at least once: a crash between the
/// upload and the removal of its spool files uploads and reports it again
/// after restart, so the caller's index write must be idempotent.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion<T> {
    pub key: String,
    pub size: u64,
    pub tag: T,
    /// `Ok` once the object exists in the store; `Err` when the store refused
    /// the job for good (an invalid key, a request it will never accept).
    pub result: Result<(), String>,
}
