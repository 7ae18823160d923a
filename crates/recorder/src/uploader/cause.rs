//! Why an upload attempt failed, in a few words that can be a metrics label
//! (`nova_upload_failures_total{cause}`): the store-neutral error says
//! whether to retry, not what went wrong, so the stores attach a [`Caused`]
//! to the failures they can name.

use std::fmt;

use nova_media::ObjectStoreError;

/// A bounded set: every value is a label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cause {
    /// The request, or the connection for it, took too long.
    Timeout,
    /// The store asked us to slow down (HTTP 429, S3 `SlowDown`).
    Throttled,
    /// The store failed on its side (5xx, a response that does not parse).
    ServerError,
    /// The store refused this request for good (4xx other than the above).
    ClientError,
    /// No connection to the store (DNS, refused, reset, TLS).
    Connect,
    /// The local disk (the filesystem store, or the spool).
    Io,
    /// The store refuses this client (credentials, bucket, signature).
    Misconfigured,
    Other,
}

impl Cause {
    pub fn label(self) -> &'static str {
        match self {
            Self::Timeout => "timeout",
            Self::Throttled => "throttled",
            Self::ServerError => "server_error",
            Self::ClientError => "client_error",
            Self::Connect => "connect",
            Self::Io => "io",
            Self::Misconfigured => "misconfigured",
            Self::Other => "other",
        }
    }

    /// The cause of a failed attempt: named by the store when it could,
    /// else read from the error's kind.
    pub fn of(error: &ObjectStoreError) -> Self {
        match error {
            ObjectStoreError::Unavailable { source, .. } => {
                if let Some(caused) = source.downcast_ref::<Caused>() {
                    caused.cause
                } else if source.downcast_ref::<std::io::Error>().is_some() {
                    Self::Io
                } else {
                    Self::Other
                }
            }
            ObjectStoreError::Misconfigured { .. } => Self::Misconfigured,
            ObjectStoreError::Rejected { .. }
            | ObjectStoreError::InvalidKey { .. }
            | ObjectStoreError::NotFound { .. } => Self::ClientError,
        }
    }
}

/// An error message with its [`Cause`], as the source of an
/// `ObjectStoreError::Unavailable`; displays as the message alone.
#[derive(Debug)]
pub struct Caused {
    pub cause: Cause,
    pub message: String,
}

impl fmt::Display for Caused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Caused {}

#[cfg(test)]
mod tests {
    use super::*;

    fn unavailable(source: Box<dyn std::error::Error + Send + Sync>) -> ObjectStoreError {
        ObjectStoreError::Unavailable {
            action: "uploading",
            key: "k".to_owned(),
            source,
        }
    }

    #[test]
    fn a_named_cause_wins_then_the_kind_of_error_decides() {
        let throttled = Caused {
            cause: Cause::Throttled,
            message: "HTTP 503 SlowDown".to_owned(),
        };
        assert_eq!(throttled.to_string(), "HTTP 503 SlowDown");
        assert_eq!(
            Cause::of(&unavailable(Box::new(throttled))),
            Cause::Throttled
        );
        let disk = std::io::Error::other("disk full");
        assert_eq!(Cause::of(&unavailable(Box::new(disk))), Cause::Io);
        assert_eq!(Cause::of(&unavailable("panicked".into())), Cause::Other);
        let rejected = ObjectStoreError::Rejected {
            action: "uploading",
            key: "k".to_owned(),
            detail: "HTTP 400".to_owned(),
        };
        assert_eq!(Cause::of(&rejected).label(), "client_error");
    }
}
