//! Where recordings live: object stores behind [`nova_media::ObjectStore`]
//! (a local directory, or S3-compatible storage) and the [`Uploader`] that
//! every recording object goes through on its way there.

mod fs_store;
mod s3_store;
pub mod uploader;

pub use fs_store::FsObjectStore;
pub use s3_store::{MIN_PART_SIZE, S3Config, S3ObjectStore};
pub use uploader::{
    Completion, Ordering, Submitter, UploadJob, Uploader, UploaderConfig, UploaderError,
    UploaderStats,
};
