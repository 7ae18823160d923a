//! Path and query pieces the hosts handlers read the same way, with axum's
//! plain-text rejections turned into problem documents.

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query};
use uuid::Uuid;

use crate::error::ApiError;

const DEFAULT_PAGE: u32 = 20;
const MAX_PAGE: u32 = 100;

pub(crate) fn path<T>(path: Result<Path<T>, PathRejection>) -> Result<T, ApiError> {
    path.map(|Path(value)| value)
        .map_err(|rejection| ApiError::BadRequest(rejection.body_text()))
}

pub(crate) fn query<T>(query: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    query
        .map(|Query(value)| value)
        .map_err(|rejection| ApiError::BadRequest(rejection.body_text()))
}

/// A user id from the path; `None` if it is not a UUID (so nobody's).
pub(crate) fn user_id(text: &str) -> Option<Uuid> {
    Uuid::parse_str(text).ok()
}

pub(crate) fn not_found(user: &str) -> ApiError {
    ApiError::NotFound(format!("user {user} was never invited to host this stream"))
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
