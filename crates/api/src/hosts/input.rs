//! What clients send to the hosts routes.

use serde::Deserialize;
use uuid::Uuid;

use super::db::HostRole;
use crate::error::{ApiError, FieldError};

/// `POST /api/v1/streams/{id}/hosts`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct InviteBody {
    /// Who to invite.
    pub user_id: Uuid,
    pub role: HostRole,
}

impl InviteBody {
    /// `owner` is the caller: the one user who cannot be their own host.
    pub fn validate(self, owner: Uuid) -> Result<Self, ApiError> {
        if self.user_id == owner {
            return Err(ApiError::Validation(vec![FieldError::new(
                &["user_id"],
                "is you: the owner runs the stream already; invite someone else",
            )]));
        }
        Ok(self)
    }
}
