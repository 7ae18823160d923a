//! The recordings catalog: the recording index in Postgres, where each
//! recording's objects live in the store, the VOD, DVR-window and clip
//! playlists built from the index, and the removal of recordings (on
//! request, by retention, and of rows a crash left without their objects).
//!
//! It reads and deletes objects only through [`nova_media::ObjectStore`];
//! writing recordings (the recorder, the uploader, the S3 store) is
//! `nova-recorder`'s job, so what serves recordings never builds the writer.
//! [`FsObjectStore`] is here because it needs nothing but the filesystem,
//! and the API's tests serve recordings from it.

mod fs_store;
pub mod index;
pub mod keys;
mod observer;
mod reconcile;
mod removal;
pub mod vod;

pub use fs_store::FsObjectStore;
pub use observer::RecordingObserver;
pub use reconcile::{ReconcileError, reconcile_recording, reconcile_recovered};
pub use removal::{DeleteError, RetentionConfig, delete_recording, run_retention, sweep_expired};
