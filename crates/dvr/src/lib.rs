//! Recordings: object stores behind [`nova_media::ObjectStore`], the
//! recording index in Postgres, and the VOD and DVR-window playlists built
//! from it.

mod fs_store;
pub mod index;
pub mod keys;
mod removal;
pub mod vod;

pub use fs_store::FsObjectStore;
pub use removal::{
    DeleteError, RetentionConfig, delete_recording, run_retention, sweep_expired,
};
