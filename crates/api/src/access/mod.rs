//! Who may do what to a stream: the caller's role, the stream's visibility,
//! and the permission matrix that joins them. Every stream-scoped handler
//! starts with [`StreamAccess::load`] and [`StreamAccess::require`], so the
//! rules live here and nowhere else.

mod matrix;
mod role;

pub(crate) use matrix::{Permission, matrix_markdown};
pub(crate) use role::{HostState, Role, StreamStatus, Visibility};

use sqlx::PgPool;
use uuid::Uuid;

use crate::error::{ApiError, DbResultExt};

/// A stream as the access check sees it, with the caller's role in it.
#[derive(Clone, Debug)]
pub(crate) struct StreamAccess {
    pub stream_id: Uuid,
    pub owner_id: Uuid,
    pub visibility: Visibility,
    pub status: StreamStatus,
    pub caller: Option<Uuid>,
    pub role: Role,
}

#[derive(sqlx::FromRow)]
struct AccessRow {
    owner_id: Uuid,
    visibility: Visibility,
    status: StreamStatus,
    host_role: Option<String>,
    host_accepted: Option<bool>,
    host_standing: Option<bool>,
}

impl AccessRow {
    fn host(&self) -> Option<HostState<'_>> {
        match (
            self.host_role.as_deref(),
            self.host_accepted,
            self.host_standing,
        ) {
            (Some(role), Some(true), Some(true)) => Some(HostState::Accepted(role)),
            (Some(_), Some(false), Some(true)) => Some(HostState::Pending),
            _ => None,
        }
    }
}

impl StreamAccess {
    /// Loads the stream and the caller's role in one round trip. A stream
    /// the caller may not see at all is the same 404 as a missing one, so
    /// private stream ids do not leak.
    pub async fn load(
        pool: &PgPool,
        stream_id: &str,
        caller: Option<Uuid>,
    ) -> Result<Self, ApiError> {
        let not_found = || ApiError::NotFound(format!("no stream {stream_id:?}"));
        let id = Uuid::parse_str(stream_id).map_err(|_| not_found())?;
        let row = sqlx::query_as::<_, AccessRow>(
            "SELECT s.owner_id, s.visibility, s.status, h.role AS host_role, \
                 h.accepted_at IS NOT NULL AS host_accepted, \
                 (h.declined_at IS NULL AND h.revoked_at IS NULL) AS host_standing \
             FROM live_streams s \
             LEFT JOIN stream_hosts h ON h.stream_id = s.id AND h.user_id = $2 \
             WHERE s.id = $1",
        )
        .bind(id)
        .bind(caller)
        .fetch_optional(pool)
        .await
        .db_err("checking access to a stream")?
        .ok_or_else(not_found)?;
        let role = Role::of(caller, row.owner_id, row.host());
        let access = Self {
            stream_id: id,
            owner_id: row.owner_id,
            visibility: row.visibility,
            status: row.status,
            caller,
            role,
        };
        if !access.can_see() {
            return Err(not_found());
        }
        Ok(access)
    }

    /// Public and unlisted streams are readable by anyone with the id;
    /// private ones only by their owner, its hosts and those it invited.
    pub fn can_see(&self) -> bool {
        self.visibility != Visibility::Private || self.role.is_staff() || self.role == Role::Invitee
    }

    /// Allowed, or the error the caller should get: 401 when signing in
    /// could help, 403 otherwise.
    pub fn require(&self, permission: Permission) -> Result<(), ApiError> {
        if permission.allows(self.role) {
            return Ok(());
        }
        if self.role == Role::Anonymous && permission.allows(Role::Viewer) {
            return Err(ApiError::MissingToken);
        }
        Err(ApiError::Forbidden(format!(
            "{} requires the role {}; you are {} on this stream",
            permission.describe(),
            permission.allowed_roles_text(),
            self.role.describe(),
        )))
    }

    /// The signed-in caller, for actions that `require` already limited to
    /// signed-in roles.
    pub fn user(&self) -> Result<Uuid, ApiError> {
        self.caller.ok_or(ApiError::MissingToken)
    }
}
