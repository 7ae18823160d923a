//! Path pieces every super chat handler reads the same way.

use uuid::Uuid;

use crate::error::ApiError;

pub(crate) use crate::extract::{body, path, query};

/// A super chat id from the path: not a UUID is the same 404 as not there.
pub(crate) fn super_chat_id(text: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(text).map_err(|_| not_found(text))
}

pub(crate) fn not_found(id: impl std::fmt::Display) -> ApiError {
    ApiError::NotFound(format!("no super chat {id} on this stream"))
}
