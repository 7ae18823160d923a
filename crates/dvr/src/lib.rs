//! Recordings: object stores behind [`nova_media::ObjectStore`] (a local
//! directory, or S3-compatible storage), the [`Uploader`] every recording
//! object goes through on its way there, the recording index in Postgres,
//! and the VOD and DVR-window playlists built from it.

mod fs_store;
pub mod index;
pub mod keys;
mod recorder;
mod removal;
mod s3_store;
pub mod uploader;
pub mod vod;

pub use fs_store::FsObjectStore;
pub use recorder::{
    ReconcileError, Recorder, RecorderConfig, RecorderTasks, RecordingObserver, reconcile_recording,
};
pub use removal::{DeleteError, RetentionConfig, delete_recording, run_retention, sweep_expired};
pub use s3_store::{MIN_PART_SIZE, S3Config, S3ObjectStore};
pub use uploader::{
    Completion, Ordering, Submitter, UploadJob, Uploader, UploaderConfig, UploaderError,
    UploaderStats,
};
