use async_trait::async_trait;
use bytes::Bytes;

#[derive(Debug, thiserror::Error)]
pub enum ObjectStoreError {
    #[error("object {key:?} not found")]
    NotFound { key: String },
    #[error("invalid object key {key:?}: {reason}")]
    InvalidKey { key: String, reason: &'static str },
    #[error("object store unavailable while {action} {key:?}: {source}")]
    Unavailable {
        action: &'static str,
        key: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Where segments and recordings are kept: the local filesystem by default,
/// S3-compatible storage in production. Keys are `/`-separated relative paths.
#[async_trait]
pub trait ObjectStore: Send + Sync + 'static {
    /// Stores the whole object; readers never see a partial one.
    async fn put(&self, key: &str, body: Bytes, content_type: &str)
    -> Result<(), ObjectStoreError>;
    async fn get(&self, key: &str) -> Result<Bytes, ObjectStoreError>;
    /// Deleting a missing object is not an error.
    async fn delete(&self, key: &str) -> Result<(), ObjectStoreError>;
    /// Keys under `prefix`, sorted.
    async fn list(&self, prefix: &str) -> Result<Vec<String>, ObjectStoreError>;
}
