//! Every error a handler can return, and the one place it becomes HTTP: an
//! RFC 9457 problem document (`application/problem+json`).

mod constraints;
mod db;

pub(crate) use db::DbResultExt;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// One invalid part of a request body, as an RFC 9457 `errors` member: a JSON
/// pointer (RFC 6901, as a URI fragment) to the value, and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub(crate) struct FieldError {
    pub pointer: String,
    pub detail: String,
}

impl FieldError {
    /// `path` names the field from the document root, e.g. `["settings", "container"]`.
    pub fn new(path: &[&str], detail: impl Into<String>) -> Self {
        let mut pointer = String::from("#");
        for segment in path {
            pointer.push('/');
            // RFC 6901 §3: `~` and `/` inside a name are escaped.
            pointer.push_str(&segment.replace('~', "~0").replace('/', "~1"));
        }
        Self {
            pointer,
            detail: detail.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    /// No credentials: the client should authenticate (RFC 6750 §3.1: no error code).
    #[error("missing bearer token")]
    MissingToken,
    /// Credentials that do not verify: expired, forged, malformed.
    #[error("invalid bearer token: {0}")]
    InvalidToken(&'static str),
    /// Signed in, but this role may not do this: says which role may.
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("this resource does not support that method: see the Allow header")]
    MethodNotAllowed,
    #[error("{0}")]
    Conflict(String),
    /// What was asked for is not there yet and waiting longer will not
    /// help this request; a retry may (e.g. an LL-HLS part that never came).
    #[error("{0}")]
    NotYet(String),
    #[error("invalid request body")]
    Validation(Vec<FieldError>),
    /// A rate limit or slow mode: retry after this many seconds.
    #[error("{message}")]
    TooManyRequests {
        message: String,
        retry_after_secs: u64,
    },
    /// The database cannot be reached: nothing the client did, and retrying
    /// soon may work. Logged with its cause.
    #[error("{context}: {source}")]
    DatabaseUnavailable {
        context: &'static str,
        #[source]
        source: sqlx::Error,
    },
    /// The request took longer than the server's request timeout (a slow
    /// body, or a handler stuck behind a slow database); retrying may work.
    #[error("the server did not finish this request within {} s: retry in a few seconds", .0.as_secs_f64())]
    TimedOut(std::time::Duration),
    /// The recording store (filesystem or S3) cannot be reached or is not
    /// configured; retrying soon may work. Logged with its cause.
    #[error("{0}")]
    StorageUnavailable(String),
    /// A fault on our side: logged with its cause, never shown to the client.
    #[error("{context}: {source}")]
    Internal {
        context: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl ApiError {
    pub fn internal(
        context: &'static str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self::Internal {
            context,
            source: source.into(),
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Self::MissingToken | Self::InvalidToken(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::NotYet(_) | Self::TimedOut(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::DatabaseUnavailable { .. } | Self::StorageUnavailable(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// What the client is told; internal causes stay in the log.
    fn detail(&self) -> String {
        match self {
            Self::MissingToken => {
                "send `Authorization: Bearer <token>`; `nova-live token --user <uuid>` prints one"
                    .to_owned()
            }
            Self::InvalidToken(why) => format!("the bearer token is not valid: {why}"),
            Self::Validation(_) => "the request body has invalid fields: see `errors`".to_owned(),
            Self::DatabaseUnavailable { .. } => {
                "the database is unavailable right now: retry in a few seconds".to_owned()
            }
            Self::StorageUnavailable(_) => {
                "recording storage is unavailable right now: retry in a few seconds".to_owned()
            }
            Self::Internal { .. } => {
                "the server failed to handle this request; it has been logged: retry later"
                    .to_owned()
            }
            other => other.to_string(),
        }
    }
}

/// The problem document as the OpenAPI document describes it.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Problem)]
pub(crate) struct ProblemDocument {
    /// Always `about:blank`: the status says what kind of problem it is.
    #[serde(rename = "type")]
    kind: String,
    title: String,
    status: u16,
    /// What went wrong and what to do about it.
    detail: String,
    /// For 422: each invalid field.
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<Vec<FieldError>>,
}

/// RFC 9457 §3.1. `type` is `about:blank` throughout: the status code says
/// what kind of problem it is, `detail` says what to do, and validation
/// problems add `errors`.
#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    title: &'static str,
    status: u16,
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<&'a [FieldError]>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        match &self {
            Self::Internal { context, source } => tracing::error!(error = %source, "{context}"),
            Self::DatabaseUnavailable { context, source } => {
                tracing::warn!(error = %source, "{context}: database unavailable");
            }
            Self::StorageUnavailable(cause) => tracing::warn!("recording storage: {cause}"),
            _ => {}
        }
        let problem = Problem {
            kind: "about:blank",
            title: status.canonical_reason().unwrap_or("Error"),
            status: status.as_u16(),
            detail: self.detail(),
            errors: match &self {
                Self::Validation(errors) => Some(errors),
                _ => None,
            },
        };
        let body = serde_json::to_vec(&problem).expect("a problem document always serializes");
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        match self {
            Self::MissingToken => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            // RFC 6750 §3: tell the client the token itself is the problem.
            Self::InvalidToken(_) => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(r#"Bearer error="invalid_token""#),
                );
            }
            Self::DatabaseUnavailable { .. } | Self::StorageUnavailable(_) | Self::TimedOut(_) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            }
            Self::TooManyRequests {
                retry_after_secs, ..
            } => {
                headers.insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(retry_after_secs.max(1)),
                );
            }
            _ => {}
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_escape_as_rfc_6901_says() {
        assert_eq!(FieldError::new(&[], "x").pointer, "#");
        assert_eq!(
            FieldError::new(&["settings", "container"], "x").pointer,
            "#/settings/container"
        );
        assert_eq!(FieldError::new(&["a/b", "c~d"], "x").pointer, "#/a~1b/c~0d");
    }

    #[test]
    fn internal_errors_hide_their_cause() {
        let error = ApiError::internal("loading stream", std::io::Error::other("password=hunter2"));
        assert!(!error.detail().contains("hunter2"));
        assert_eq!(error.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
