//! Path pieces the hosts handlers read the same way.

use uuid::Uuid;

use crate::error::ApiError;

pub(crate) use crate::extract::{path, query};

/// A user id from the path; `None` if it is not a UUID (so nobody's).
pub(crate) fn user_id(text: &str) -> Option<Uuid> {
    Uuid::parse_str(text).ok()
}

pub(crate) fn not_found(user: &str) -> ApiError {
    ApiError::NotFound(format!("user {user} was never invited to host this stream"))
}
