//! Every error a handler can return, and the one place it becomes HTTP: an
//! RFC 9457 problem document (`application/problem+json`).

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

    /// Maps a database error: constraint violations are the client's fault
    /// (and say which rule was broken); an unreachable database is a 503 the
    /// client may retry; anything else is ours.
    pub fn from_db(context: &'static str, error: sqlx::Error) -> Self {
        if let Some(db) = error.as_database_error()
            && let Some(mapped) = db.constraint().and_then(constraint_error)
        {
            return mapped;
        }
        if database_unreachable(&error) {
            return Self::DatabaseUnavailable {
                context,
                source: error,
            };
        }
        Self::internal(context, error)
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
            Self::NotYet(_) => StatusCode::SERVICE_UNAVAILABLE,
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

/// Errors that mean "no database to talk to" rather than "this query failed".
fn database_unreachable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            // SQLSTATE class 08: connection exceptions; 57P01–57P03: the server
            // is shutting down or starting; 53300: too many connections;
            // 55000 is what a database that refuses connections answers.
            code.starts_with("08")
                || matches!(
                    code.as_ref(),
                    "57P01" | "57P02" | "57P03" | "53300" | "55000"
                )
        }),
        _ => false,
    }
}

/// The constraints a client can break with valid-looking input, by name
/// (named in migrations/ for this purpose). Handlers validate first, so
/// these are the backstop for races and rules only the database can check.
fn constraint_error(name: &str) -> Option<ApiError> {
    let field =
        |path: &[&str], detail: &str| ApiError::Validation(vec![FieldError::new(path, detail)]);
    Some(match name {
        "live_streams_title_check" => {
            field(&["title"], "must be 1 to 200 characters, not all blank")
        }
        "live_streams_description_check" => {
            field(&["description"], "must be at most 5000 characters")
        }
        "live_streams_settings_check" => field(&["settings"], "must be an object"),
        "live_streams_stream_key_id_key" => {
            ApiError::Conflict("a stream key collided with another one: retry".to_owned())
        }
        "super_chats_amount_check" => field(&["amount_minor"], "must be a positive integer"),
        "super_chats_currency_check" => field(&["currency"], "must be three upper-case letters"),
        "super_chats_message_check" => field(&["message"], "must be at most 500 characters"),
        "super_chats_payment_reference_check" => {
            field(&["payment_reference"], "must be 1 to 255 characters")
        }
        "super_chats_idempotency_key_check" => ApiError::BadRequest(
            "the `Idempotency-Key` header must be 1 to 255 characters".to_owned(),
        ),
        "super_chats_payment_reference_key" => ApiError::Conflict(
            "this payment_reference already belongs to another super chat: each payment is \
             recorded once"
                .to_owned(),
        ),
        // ON DELETE RESTRICT: deleting a stream that has super chats.
        "super_chats_stream_id_fkey" => ApiError::Conflict(
            "this stream has super chats, which are kept for accounting and refunds, so it \
             cannot be deleted: disable it instead"
                .to_owned(),
        ),
        "stream_hosts_self_invite_check" => field(
            &["user_id"],
            "is you: the owner runs the stream already; invite someone else",
        ),
        "stream_hosts_role_check" => field(&["role"], "must be `co_host` or `moderator`"),
        "live_chat_messages_body_check" => field(
            &["body"],
            "must be 1 to 500 characters with something other than blanks",
        ),
        // The stream was deleted while the request was under way.
        "live_chat_messages_stream_id_fkey" | "stream_chat_bans_stream_id_fkey" => {
            ApiError::NotFound("the stream no longer exists".to_owned())
        }
        // The stream was deleted between the access check and the insert.
        "live_stream_viewers_stream_id_fkey" => {
            ApiError::NotFound("the stream was just deleted: there is nothing to watch".to_owned())
        }
        // ON DELETE RESTRICT: recordings are deleted through the DVR first.
        "stream_recordings_stream_id_fkey" => ApiError::Conflict(
            "the stream has recordings, which must be deleted through the recordings API \
             first, so it cannot be deleted: disable it instead"
                .to_owned(),
        ),
        _ => return None,
    })
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
            Self::DatabaseUnavailable { .. } | Self::StorageUnavailable(_) => {
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
    fn known_constraints_become_client_errors() {
        match constraint_error("live_streams_title_check") {
            Some(ApiError::Validation(errors)) => assert_eq!(errors[0].pointer, "#/title"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            constraint_error("live_streams_stream_key_id_key"),
            Some(ApiError::Conflict(_))
        ));
        for restricting in [
            "super_chats_stream_id_fkey",
            "stream_recordings_stream_id_fkey",
        ] {
            match constraint_error(restricting) {
                Some(ApiError::Conflict(detail)) => assert!(detail.contains("disable"), "{detail}"),
                other => panic!("{restricting}: {other:?}"),
            }
        }
        assert!(constraint_error("live_streams_pkey").is_none());
    }

    #[test]
    fn super_chat_and_host_constraints_become_client_errors() {
        for (name, pointer) in [
            ("super_chats_amount_check", "#/amount_minor"),
            ("super_chats_currency_check", "#/currency"),
            ("super_chats_message_check", "#/message"),
            ("super_chats_payment_reference_check", "#/payment_reference"),
            ("stream_hosts_self_invite_check", "#/user_id"),
            ("stream_hosts_role_check", "#/role"),
        ] {
            match constraint_error(name) {
                Some(ApiError::Validation(errors)) => assert_eq!(errors[0].pointer, pointer),
                other => panic!("{name}: {other:?}"),
            }
        }
        for name in [
            "super_chats_payment_reference_key",
            "super_chats_stream_id_fkey",
        ] {
            assert!(
                matches!(constraint_error(name), Some(ApiError::Conflict(_))),
                "{name}"
            );
        }
        assert!(matches!(
            constraint_error("super_chats_idempotency_key_check"),
            Some(ApiError::BadRequest(_))
        ));
    }

    #[test]
    fn internal_errors_hide_their_cause() {
        let error = ApiError::internal("loading stream", std::io::Error::other("password=hunter2"));
        assert!(!error.detail().contains("hunter2"));
        assert_eq!(error.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
