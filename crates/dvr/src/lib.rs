//! Where recordings live: object stores behind [`nova_media::ObjectStore`].
//!
//! The filesystem store is the default for a laptop run; the S3 store and the
//! recording index arrive with the DVR work.

mod fs_store;

pub use fs_store::FsObjectStore;
