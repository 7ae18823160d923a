//! One place that decides what an S3 failure means to the rest of nova-live.

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use nova_media::ObjectStoreError;

use crate::uploader::{Cause, Caused};

/// Error codes that mean the client is set up wrong (S3 REST API, "Error
/// responses"): retrying as-is fails until an operator fixes the config.
const MISCONFIGURED_CODES: &[&str] = &[
    "AccessDenied",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "NoSuchBucket",
    "InvalidBucketName",
    "AuthorizationHeaderMalformed",
    "ExpiredToken",
    "InvalidToken",
    "AllAccessDisabled",
    "AccountProblem",
    "PermanentRedirect",
];

/// Codes a healthy store returns under load; the request itself is fine.
const TRANSIENT_CODES: &[&str] = &[
    "SlowDown",
    "RequestTimeout",
    "RequestTimeTooSkewed",
    "InternalError",
    "ServiceUnavailable",
];

/// What a failure is, from its transport outcome, HTTP status and S3 code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    NotFound,
    Unavailable,
    Misconfigured,
    Rejected,
}

/// `status` is `None` when no response arrived. Pure, so it is unit-tested.
pub(crate) fn classify(status: Option<u16>, code: Option<&str>) -> Class {
    let Some(status) = status else {
        return Class::Unavailable;
    };
    match code {
        Some("NoSuchKey" | "NotFound" | "NoSuchUpload") => return Class::NotFound,
        Some(c) if MISCONFIGURED_CODES.contains(&c) => return Class::Misconfigured,
        Some(c) if TRANSIENT_CODES.contains(&c) => return Class::Unavailable,
        _ => {}
    }
    match status {
        // HEAD answers carry no body, hence no code: the status is all there is.
        404 => Class::NotFound,
        401 | 403 => Class::Misconfigured,
        408 | 429 | 500..=599 => Class::Unavailable,
        _ => Class::Rejected,
    }
}

/// What went wrong, for the metrics, when a failure is worth retrying.
/// Pure, so it is unit-tested.
pub(crate) fn unavailable_cause(status: Option<u16>, code: Option<&str>) -> Cause {
    match (status, code) {
        (_, Some("SlowDown")) | (Some(429), _) => Cause::Throttled,
        (_, Some("RequestTimeout")) | (Some(408), _) => Cause::Timeout,
        (Some(500..=599), _) | (_, Some("InternalError" | "ServiceUnavailable")) => {
            Cause::ServerError
        }
        _ => Cause::Other,
    }
}

/// Maps an SDK failure of `action` on `key` (the caller's key, not the
/// prefixed one) to the store-neutral error.
pub(crate) fn map_sdk_error<E>(
    action: &'static str,
    key: &str,
    err: SdkError<E, HttpResponse>,
) -> ObjectStoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let class = match &err {
        // Building the request failed: in practice no credentials could be
        // found in the environment/profile chain, which is configuration.
        SdkError::ConstructionFailure(_) => Class::Misconfigured,
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => Class::Unavailable,
        SdkError::ResponseError(_) => Class::Unavailable,
        SdkError::ServiceError(_) => {
            classify(err.raw_response().map(|r| r.status().as_u16()), err.code())
        }
        _ => Class::Unavailable,
    };
    let detail = || {
        let status = err
            .raw_response()
            .map(|r| format!("HTTP {}", r.status().as_u16()));
        let parts: Vec<String> = [status, err.code().map(str::to_owned)]
            .into_iter()
            .flatten()
            .chain(err.message().map(str::to_owned))
            .collect();
        if parts.is_empty() {
            DisplayErrorContext(&err).to_string()
        } else {
            parts.join(" ")
        }
    };
    let key = key.to_owned();
    match class {
        Class::NotFound => ObjectStoreError::NotFound { key },
        Class::Misconfigured => ObjectStoreError::Misconfigured {
            action,
            key,
            detail: detail(),
        },
        Class::Rejected => ObjectStoreError::Rejected {
            action,
            key,
            detail: detail(),
        },
        Class::Unavailable => {
            let cause = match &err {
                SdkError::TimeoutError(_) => Cause::Timeout,
                SdkError::DispatchFailure(failure) if failure.is_timeout() => Cause::Timeout,
                SdkError::DispatchFailure(_) => Cause::Connect,
                SdkError::ResponseError(_) => Cause::ServerError,
                _ => unavailable_cause(err.raw_response().map(|r| r.status().as_u16()), err.code()),
            };
            ObjectStoreError::Unavailable {
                action,
                key,
                source: Box::new(Caused {
                    cause,
                    message: DisplayErrorContext(err).to_string(),
                }),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_by_code_then_status() {
        assert_eq!(classify(None, None), Class::Unavailable);
        assert_eq!(classify(Some(404), Some("NoSuchKey")), Class::NotFound);
        assert_eq!(classify(Some(404), None), Class::NotFound);
        assert_eq!(
            classify(Some(404), Some("NoSuchBucket")),
            Class::Misconfigured
        );
        assert_eq!(
            classify(Some(403), Some("SignatureDoesNotMatch")),
            Class::Misconfigured
        );
        assert_eq!(classify(Some(403), None), Class::Misconfigured);
        assert_eq!(classify(Some(503), Some("SlowDown")), Class::Unavailable);
        assert_eq!(classify(Some(500), None), Class::Unavailable);
        assert_eq!(classify(Some(429), None), Class::Unavailable);
        assert_eq!(classify(Some(400), Some("EntityTooSmall")), Class::Rejected);
        assert_eq!(
            classify(Some(400), Some("RequestTimeout")),
            Class::Unavailable
        );
    }

    #[test]
    fn retryable_failures_are_told_apart_for_the_metrics() {
        assert_eq!(
            unavailable_cause(Some(503), Some("SlowDown")),
            Cause::Throttled
        );
        assert_eq!(unavailable_cause(Some(429), None), Cause::Throttled);
        assert_eq!(
            unavailable_cause(Some(400), Some("RequestTimeout")),
            Cause::Timeout
        );
        assert_eq!(
            unavailable_cause(Some(500), Some("InternalError")),
            Cause::ServerError
        );
        assert_eq!(unavailable_cause(Some(502), None), Cause::ServerError);
        assert_eq!(
            unavailable_cause(Some(400), Some("RequestTimeTooSkewed")),
            Cause::Other
        );
    }
}
