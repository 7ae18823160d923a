//! A deadline on ordinary requests: a client trickling its body, or a
//! handler stuck behind a slow database, gives its connection back after
//! `limit` with a 503 the client may retry. Not for the event feeds or the
//! LL-HLS blocking reloads under `/live`, which hold requests open on
//! purpose and bound the hold themselves.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

pub(crate) async fn request_timeout(
    State(limit): State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::TimedOut(limit).into_response(),
    }
}
