//! The recordings writer: the [`Recorder`] (a [`nova_media::SegmentSink`])
//! turns the packager's segments into upload jobs, the [`Uploader`] takes
//! every object to the store (spooling to disk through outages), and once
//! an object is stored its row goes into the index of `nova-dvr`, the
//! catalog that serves, clips and deletes recordings. [`S3ObjectStore`] is
//! the S3-compatible store; the filesystem one is `nova_dvr::FsObjectStore`.

mod gate;
pub mod metrics;
mod recorder;
mod s3_store;
pub mod uploader;

pub use gate::RecordingGate;
pub use recorder::{Recorder, RecorderConfig, RecorderTasks, UploadTag};
pub use s3_store::{MIN_PART_SIZE, S3Config, S3ObjectStore};
pub use uploader::{
    Completion, Ordering, Submitter, UploadJob, Uploader, UploaderConfig, UploaderError,
    UploaderStats,
};
