//! Path, query and body pieces every super chat handler reads the same way,
//! with axum's plain-text rejections turned into problem documents.

use axum::extract::Path;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use bytes::Bytes;
use uuid::Uuid;

use crate::error::ApiError;

const DEFAULT_PAGE: u32 = 20;
const MAX_PAGE: u32 = 100;

pub(crate) fn path<T>(path: Result<Path<T>, PathRejection>) -> Result<T, ApiError> {
    path.map(|Path(value)| value)
        .map_err(|rejection| ApiError::BadRequest(rejection.body_text()))
}

pub(crate) fn query<T>(
    query: Result<axum::extract::Query<T>, QueryRejection>,
) -> Result<T, ApiError> {
    query
        .map(|axum::extract::Query(value)| value)
        .map_err(|rejection| ApiError::BadRequest(rejection.body_text()))
}

pub(crate) fn body(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge("the request body is too large".to_owned())
        } else {
            ApiError::BadRequest(rejection.body_text())
        }
    })
}

/// A super chat id from the path: not a UUID is the same 404 as not there.
pub(crate) fn super_chat_id(text: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(text).map_err(|_| not_found(text))
}

pub(crate) fn not_found(id: impl std::fmt::Display) -> ApiError {
    ApiError::NotFound(format!("no super chat {id} on this stream"))
}

/// The `limit` query parameter: 1 to 100, 20 when absent.
pub(crate) fn page_size(limit: Option<u32>) -> Result<u32, ApiError> {
    let limit = limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::BadRequest(format!(
            "limit must be between 1 and {MAX_PAGE} (it was {limit})"
        )));
    }
    Ok(limit)
}
