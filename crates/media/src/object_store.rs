use async_trait::async_trait;
use bytes::Bytes;
use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum ObjectStoreError {
    #[error("object {key:?} not found")]
    NotFound { key: String },
    #[error("invalid object key {key:?}: {reason}")]
    InvalidKey { key: String, reason: &'static str },
    /// The store could not be reached or failed on its side (network, timeout,
    /// 5xx, throttling): trying again later may succeed.
    #[error("object store unavailable while {action} {key:?}: {source}")]
    Unavailable {
        action: &'static str,
        key: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The store answered but refuses this client (credentials, signature,
    /// missing bucket): an operator has to fix the configuration; retrying
    /// after that fix succeeds, so uploads keep what they hold.
    #[error(
        "object store refused {action} {key:?}: {detail}; check the store's endpoint, bucket and credentials"
    )]
    Misconfigured {
        action: &'static str,
        key: String,
        detail: String,
    },
    /// The store refused this one request for a reason that retrying will not fix.
    #[error("object store rejected {action} {key:?}: {detail}")]
    Rejected {
        action: &'static str,
        key: String,
        detail: String,
    },
}

impl ObjectStoreError {
    /// Whether the same request can succeed later without changing it
    /// (the store comes back, or an operator fixes its configuration).
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable { .. } | Self::Misconfigured { .. })
    }
}

/// HTTP metadata stored with an object and sent back to whoever reads it
/// (players reading straight from S3 or through a CDN need both).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectMeta {
    pub content_type: String,
    pub cache_control: String,
}

impl ObjectMeta {
    pub fn new(content_type: impl Into<String>, cache_control: impl Into<String>) -> Self {
        Self {
            content_type: content_type.into(),
            cache_control: cache_control.into(),
        }
    }
}

/// Where segments and recordings are kept: the local filesystem by default,
/// S3-compatible storage in production. Keys are `/`-separated relative paths.
#[async_trait]
pub trait ObjectStore: Send + Sync + 'static {
    /// Stores the whole object; readers never see a partial one.
    async fn put(&self, key: &str, body: Bytes, meta: &ObjectMeta) -> Result<(), ObjectStoreError>;
    async fn get(&self, key: &str) -> Result<Bytes, ObjectStoreError>;
    /// The object's size, or `None` when it does not exist: lets a restarted
    /// process reconcile its index with what actually reached the store.
    async fn head(&self, key: &str) -> Result<Option<u64>, ObjectStoreError>;
    /// Deleting a missing object is not an error.
    async fn delete(&self, key: &str) -> Result<(), ObjectStoreError>;
    /// Deletes every key (missing ones included) in as few requests as the
    /// store allows; retention deletes whole recordings at once.
    async fn delete_many(&self, keys: &[String]) -> Result<(), ObjectStoreError>;
    /// Keys under `prefix`, sorted.
    async fn list(&self, prefix: &str) -> Result<Vec<String>, ObjectStoreError>;
}
