//! What the API shows of a host or invitation.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::db::{HostRole, HostRow, InvitationState};
use crate::event_bus::{EventPayload, HostsChangedEvent};

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct HostView {
    /// The invited user's id: within a stream a host is named by their
    /// user id, as in `/hosts/{user_id}`.
    pub id: Uuid,
    pub stream_id: Uuid,
    pub user_id: Uuid,
    pub role: HostRole,
    pub state: InvitationState,
    pub invited_by: Uuid,
    /// Of the current invitation: a re-invitation starts a new one.
    pub invited_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub declined_at: Option<DateTime<Utc>>,
    /// When the owner removed them, or they left.
    pub removed_at: Option<DateTime<Utc>>,
}

impl From<HostRow> for HostView {
    fn from(row: HostRow) -> Self {
        Self {
            id: row.user_id,
            state: row.state(),
            stream_id: row.stream_id,
            user_id: row.user_id,
            role: row.role,
            invited_by: row.invited_by,
            invited_at: row.invited_at,
            accepted_at: row.accepted_at,
            declined_at: row.declined_at,
            removed_at: row.revoked_at,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct HostPage {
    pub items: Vec<HostView>,
    pub next_cursor: Option<String>,
}

/// The `hosts_changed` event: whose role or state changed, and to what.
pub(crate) fn changed_event(row: &HostRow) -> EventPayload {
    EventPayload::HostsChanged(HostsChangedEvent {
        user_id: row.user_id,
        role: row.role,
        state: row.state(),
    })
}
