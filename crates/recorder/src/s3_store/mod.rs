//! Recordings in S3-compatible storage (AWS S3, MinIO, s3s, R2, …).

mod errors;
mod multipart;

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::{Credentials, Region};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use bytes::Bytes;
use nova_media::{ObjectMeta, ObjectStore, ObjectStoreError};

use errors::{Class, classify, map_sdk_error};

const MIB: usize = 1024 * 1024;
/// S3's smallest part, except for the last one (S3 API, UploadPart).
pub const MIN_PART_SIZE: usize = 5 * MIB;
/// S3's limit on keys per DeleteObjects request.
const DELETE_BATCH: usize = 1000;

/// Where and how to reach the bucket.
#[derive(Clone)]
pub struct S3Config {
    /// `None` for AWS itself; `http://127.0.0.1:9000` for MinIO and friends.
    pub endpoint: Option<String>,
    pub bucket: String,
    /// Prepended to every key (`recordings/` → `recordings/{key}`); may be empty.
    pub prefix: String,
    pub region: String,
    /// `bucket` in the path instead of the host name: what MinIO and most
    /// self-hosted stores need.
    pub force_path_style: bool,
    /// `(access_key, secret_key)`; `None` uses the standard AWS chain
    /// (environment, profile files, web identity, container and instance roles).
    pub credentials: Option<(String, String)>,
    /// Bodies larger than this go up as a multipart upload.
    pub multipart_threshold: usize,
    /// Part size of multipart uploads; at least [`MIN_PART_SIZE`].
    pub part_size: usize,
    /// How long to wait for a TCP/TLS connection: bounds how long an
    /// unreachable store takes to report itself.
    pub connect_timeout: Duration,
    /// Limit for one HTTP attempt (a whole part, for multipart uploads).
    pub attempt_timeout: Duration,
    /// Attempts the SDK makes per request. The uploader retries on its own,
    /// so a small number keeps failures quick to surface.
    pub max_attempts: u32,
    /// SHA-256 every uploaded body into its SigV4 signature. Over HTTPS the
    /// body is already integrity-protected by TLS (and by the CRC32
    /// checksum the SDK sends with it), so that second pass over every
    /// byte buys nothing and uploads go as `UNSIGNED-PAYLOAD`; over plain
    /// HTTP it is the only protection against tampering on the way.
    /// `None` decides by the endpoint's scheme (AWS itself is HTTPS).
    pub sign_payload: Option<bool>,
}

impl S3Config {
    /// Defaults for everything but the bucket: us-east-1, no prefix, virtual-host
    /// addressing, the standard credential chain.
    pub fn new(bucket: impl Into<String>) -> Self {
        Self {
            endpoint: None,
            bucket: bucket.into(),
            prefix: String::new(),
            region: "us-east-1".into(),
            force_path_style: false,
            credentials: None,
            multipart_threshold: 16 * MIB,
            part_size: 8 * MIB,
            connect_timeout: Duration::from_secs(3),
            attempt_timeout: Duration::from_secs(60),
            max_attempts: 2,
            sign_payload: None,
        }
    }
}

/// AWS itself (no endpoint) is reached over HTTPS.
fn is_https(endpoint: Option<&str>) -> bool {
    endpoint.is_none_or(|url| {
        url.get(..8)
            .is_some_and(|scheme| scheme.eq_ignore_ascii_case("https://"))
    })
}

/// Keeps the secret key out of logs.
impl fmt::Debug for S3Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Config")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("region", &self.region)
            .field("force_path_style", &self.force_path_style)
            .field(
                "credentials",
                &self.credentials.as_ref().map(|(ak, _)| (ak, "<redacted>")),
            )
            .field("multipart_threshold", &self.multipart_threshold)
            .field("part_size", &self.part_size)
            .field("connect_timeout", &self.connect_timeout)
            .field("sign_payload", &self.sign_payload)
            .field("attempt_timeout", &self.attempt_timeout)
            .field("max_attempts", &self.max_attempts)
            .finish()
    }
}

pub struct S3ObjectStore {
    client: Client,
    bucket: String,
    /// Empty, or ends with `/`.
    prefix: String,
    multipart_threshold: usize,
    part_size: usize,
    sign_payload: bool,
}

impl S3ObjectStore {
    /// Builds the client. Makes no request: a store that is down at start-up
    /// must not stop the server (uploads spool until it is back); call
    /// [`S3ObjectStore::check`] to report on it.
    pub async fn connect(config: S3Config) -> Result<Self, ObjectStoreError> {
        let invalid = |detail: String| ObjectStoreError::Misconfigured {
            action: "configuring",
            key: String::new(),
            detail,
        };
        if config.bucket.is_empty() {
            return Err(invalid("the bucket name is empty".into()));
        }
        if config.part_size < MIN_PART_SIZE {
            return Err(invalid(format!(
                "part size {} is below S3's minimum of {MIN_PART_SIZE} bytes",
                config.part_size
            )));
        }
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(config.connect_timeout)
            .operation_attempt_timeout(config.attempt_timeout)
            .build();
        let retries = RetryConfig::standard()
            .with_max_attempts(config.max_attempts.max(1))
            .with_initial_backoff(Duration::from_millis(200))
            .with_max_backoff(Duration::from_secs(2));
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(config.region.clone()))
            .timeout_config(timeouts)
            .retry_config(retries);
        if let Some((access_key, secret_key)) = &config.credentials {
            loader = loader.credentials_provider(Credentials::new(
                access_key,
                secret_key,
                None,
                None,
                "nova-live-config",
            ));
        }
        if let Some(endpoint) = &config.endpoint {
            loader = loader.endpoint_url(endpoint);
        }
        let shared = loader.load().await;
        let s3_config = aws_sdk_s3::config::Builder::from(&shared)
            .force_path_style(config.force_path_style)
            .build();
        let prefix = config.prefix.trim_matches('/');
        Ok(Self {
            client: Client::from_conf(s3_config),
            bucket: config.bucket,
            prefix: if prefix.is_empty() {
                String::new()
            } else {
                format!("{prefix}/")
            },
            multipart_threshold: config.multipart_threshold,
            part_size: config.part_size,
            sign_payload: config
                .sign_payload
                .unwrap_or_else(|| !is_https(config.endpoint.as_deref())),
        })
    }

    /// One cheap request (HeadBucket) that says whether the store is reachable
    /// and the credentials and bucket are right, for start-up logs and health.
    pub async fn check(&self) -> Result<(), ObjectStoreError> {
        self.client
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .map(|_| ())
            .map_err(
                |e| match map_sdk_error("checking bucket", &self.bucket, e) {
                    // HeadBucket's 404 is the bucket itself missing.
                    ObjectStoreError::NotFound { key } => ObjectStoreError::Misconfigured {
                        action: "checking bucket",
                        key,
                        detail: "the bucket does not exist".into(),
                    },
                    other => other,
                },
            )
    }

    /// A URL that lets anyone GET `key` for `expires_in` (at most 7 days, the
    /// SigV4 limit), so players can fetch recordings from the bucket or a CDN
    /// instead of through this server. Computed locally: no request is made.
    pub async fn presigned_get_url(
        &self,
        key: &str,
        expires_in: Duration,
    ) -> Result<String, ObjectStoreError> {
        let rejected = |detail: String| ObjectStoreError::Rejected {
            action: "presigning",
            key: key.to_owned(),
            detail,
        };
        let presigning =
            PresigningConfig::expires_in(expires_in).map_err(|e| rejected(e.to_string()))?;
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(self.full_key(key)?)
            .presigned(presigning)
            .await
            .map_err(|e| map_sdk_error("presigning", key, e))?;
        Ok(request.uri().to_owned())
    }

    fn full_key(&self, key: &str) -> Result<String, ObjectStoreError> {
        validate_key(key)?;
        Ok(format!("{}{key}", self.prefix))
    }
}

/// The same key rules as the filesystem store, so a recording can move
/// between stores without renaming.
fn validate_key(key: &str) -> Result<(), ObjectStoreError> {
    let invalid = |reason| ObjectStoreError::InvalidKey {
        key: key.to_owned(),
        reason,
    };
    if key.is_empty() {
        return Err(invalid("empty"));
    }
    if key.split('/').any(|s| matches!(s, "" | "." | "..")) {
        return Err(invalid(
            "must be a relative path without empty, . or .. segments",
        ));
    }
    Ok(())
}

#[async_trait]
impl ObjectStore for S3ObjectStore {
    async fn put(&self, key: &str, body: Bytes, meta: &ObjectMeta) -> Result<(), ObjectStoreError> {
        let full = self.full_key(key)?;
        if body.len() > self.multipart_threshold {
            return multipart::put(self, key, &full, body, meta).await;
        }
        let request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(full)
            .content_type(&meta.content_type)
            .cache_control(&meta.cache_control)
            .body(ByteStream::from(body))
            .customize();
        let request = if self.sign_payload {
            request
        } else {
            request.disable_payload_signing()
        };
        request
            .send()
            .await
            .map_err(|e| map_sdk_error("uploading", key, e))?;
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Bytes, ObjectStoreError> {
        let out = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(self.full_key(key)?)
            .send()
            .await
            .map_err(|e| map_sdk_error("downloading", key, e))?;
        let body = out
            .body
            .collect()
            .await
            .map_err(|e| ObjectStoreError::Unavailable {
                action: "downloading",
                key: key.to_owned(),
                source: Box::new(e),
            })?;
        Ok(body.into_bytes())
    }

    async fn head(&self, key: &str) -> Result<Option<u64>, ObjectStoreError> {
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(self.full_key(key)?)
            .send()
            .await
            .map_err(|e| map_sdk_error("inspecting", key, e))
        {
            Ok(out) => Ok(Some(
                out.content_length().unwrap_or(0).try_into().unwrap_or(0),
            )),
            Err(ObjectStoreError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn delete(&self, key: &str) -> Result<(), ObjectStoreError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(self.full_key(key)?)
            .send()
            .await
            .map_err(|e| map_sdk_error("deleting", key, e))?;
        Ok(())
    }

    async fn delete_many(&self, keys: &[String]) -> Result<(), ObjectStoreError> {
        // Validate every key first so a bad one deletes nothing.
        let full: Vec<String> = keys
            .iter()
            .map(|k| self.full_key(k))
            .collect::<Result<_, _>>()?;
        for (batch_keys, batch) in keys.chunks(DELETE_BATCH).zip(full.chunks(DELETE_BATCH)) {
            let first = batch_keys.first().map(String::as_str).unwrap_or_default();
            let objects = batch
                .iter()
                .map(|k| ObjectIdentifier::builder().key(k).build())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| ObjectStoreError::Rejected {
                    action: "deleting",
                    key: first.to_owned(),
                    detail: e.to_string(),
                })?;
            let delete = Delete::builder()
                .set_objects(Some(objects))
                // Quiet mode: the answer lists only the keys that failed.
                .quiet(true)
                .build()
                .map_err(|e| ObjectStoreError::Rejected {
                    action: "deleting",
                    key: first.to_owned(),
                    detail: e.to_string(),
                })?;
            let out = self
                .client
                .delete_objects()
                .bucket(&self.bucket)
                .delete(delete)
                .send()
                .await
                .map_err(|e| map_sdk_error("deleting", first, e))?;
            // Per-key failures come back in a 200 answer.
            for failed in out.errors() {
                let key = failed
                    .key()
                    .map(|k| k.strip_prefix(&self.prefix).unwrap_or(k).to_owned())
                    .unwrap_or_default();
                let detail = format!(
                    "{} {}",
                    failed.code().unwrap_or("unknown error"),
                    failed.message().unwrap_or("")
                );
                let action = "deleting";
                // A missing key is what a delete wants; anything else fails the call.
                let err = match classify(Some(400), failed.code()) {
                    Class::NotFound => continue,
                    Class::Unavailable => ObjectStoreError::Unavailable {
                        action,
                        key,
                        source: detail.into(),
                    },
                    Class::Misconfigured => ObjectStoreError::Misconfigured {
                        action,
                        key,
                        detail,
                    },
                    Class::Rejected => ObjectStoreError::Rejected {
                        action,
                        key,
                        detail,
                    },
                };
                return Err(err);
            }
        }
        Ok(())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, ObjectStoreError> {
        let full_prefix = format!("{}{prefix}", self.prefix);
        let mut keys = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(&full_prefix)
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| map_sdk_error("listing", prefix, e))?;
            keys.extend(
                out.contents()
                    .iter()
                    .filter_map(|o| o.key())
                    .filter_map(|k| k.strip_prefix(&self.prefix))
                    .map(str::to_owned),
            );
            match out.next_continuation_token() {
                Some(next) if out.is_truncated().unwrap_or(false) => token = Some(next.to_owned()),
                _ => break,
            }
        }
        keys.sort();
        Ok(keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_filesystem_rules() {
        for bad in ["", "/a", "a//b", "a/./b", "../a", "a/"] {
            assert!(validate_key(bad).is_err(), "{bad:?} was accepted");
        }
        for good in ["a", "s1/r1/seg-1.m4s", ".hidden/x"] {
            assert!(validate_key(good).is_ok(), "{good:?} was refused");
        }
    }

    #[test]
    fn payloads_are_signed_only_where_tls_does_not_protect_them() {
        assert!(is_https(None), "AWS itself");
        assert!(is_https(Some("https://s3.example.com")));
        assert!(is_https(Some("HTTPS://s3.example.com")));
        assert!(!is_https(Some("http://127.0.0.1:9000")));
    }

    #[test]
    fn debug_hides_the_secret() {
        let mut config = S3Config::new("b");
        config.credentials = Some(("AKID".into(), "very-secret".into()));
        let shown = format!("{config:?}");
        assert!(shown.contains("AKID"));
        assert!(!shown.contains("very-secret"));
    }
}
