//! The SQL of the hosts API. A user has at most one row per stream (the
//! primary key); invitations, answers and removals are states of that row.

use chrono::{DateTime, Utc};
use sqlx::{PgExecutor, PgPool};
use uuid::Uuid;

use crate::paging::TimeKey;

macro_rules! host_columns {
    () => {
        "stream_id, user_id, role, invited_by, invited_at, accepted_at, declined_at, revoked_at"
    };
}

/// Invitations that are still open: not declined, not removed. An accepted
/// host is answered as well, so accepting and declining add `accepted_at IS NULL`.
const STANDING: &str = "declined_at IS NULL AND revoked_at IS NULL";

#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    sqlx::Type,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum HostRole {
    /// Edits title and description, moderates chat, pins super chats.
    CoHost,
    /// Moderates chat.
    Moderator,
}

/// Where an invitation stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InvitationState {
    /// Invited, not answered yet.
    Invited,
    /// Accepted: hosts the stream in its role.
    Accepted,
    Declined,
    /// Removed by the owner, or left.
    Removed,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub(crate) struct HostRow {
    pub stream_id: Uuid,
    pub user_id: Uuid,
    pub role: HostRole,
    pub invited_by: Uuid,
    pub invited_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub declined_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl HostRow {
    pub fn state(&self) -> InvitationState {
        if self.revoked_at.is_some() {
            InvitationState::Removed
        } else if self.declined_at.is_some() {
            InvitationState::Declined
        } else if self.accepted_at.is_some() {
            InvitationState::Accepted
        } else {
            InvitationState::Invited
        }
    }
}

pub(crate) async fn find(
    executor: impl PgExecutor<'_>,
    stream: Uuid,
    user: Uuid,
) -> Result<Option<HostRow>, sqlx::Error> {
    sqlx::query_as::<_, HostRow>(concat!(
        "SELECT ",
        host_columns!(),
        " FROM stream_hosts WHERE stream_id = $1 AND user_id = $2"
    ))
    .bind(stream)
    .bind(user)
    .fetch_optional(executor)
    .await
}

/// The user's row, locked until the transaction ends, so an invitation is
/// decided on the state it changes.
pub(crate) async fn lock(
    executor: impl PgExecutor<'_>,
    stream: Uuid,
    user: Uuid,
) -> Result<Option<HostRow>, sqlx::Error> {
    sqlx::query_as::<_, HostRow>(concat!(
        "SELECT ",
        host_columns!(),
        " FROM stream_hosts WHERE stream_id = $1 AND user_id = $2 FOR UPDATE"
    ))
    .bind(stream)
    .bind(user)
    .fetch_optional(executor)
    .await
}

/// A first invitation; `None` if a concurrent one inserted the row first
/// (the insert waits for it to commit).
pub(crate) async fn insert(
    executor: impl PgExecutor<'_>,
    stream: Uuid,
    user: Uuid,
    role: HostRole,
    by: Uuid,
) -> Result<Option<HostRow>, sqlx::Error> {
    sqlx::query_as::<_, HostRow>(concat!(
        "INSERT INTO stream_hosts (stream_id, user_id, role, invited_by) VALUES ($1, $2, $3, $4) \
         ON CONFLICT ON CONSTRAINT stream_hosts_pkey DO NOTHING RETURNING ",
        host_columns!()
    ))
    .bind(stream)
    .bind(user)
    .bind(role)
    .bind(by)
    .fetch_optional(executor)
    .await
}

pub(crate) async fn set_role(
    executor: impl PgExecutor<'_>,
    stream: Uuid,
    user: Uuid,
    role: HostRole,
) -> Result<HostRow, sqlx::Error> {
    sqlx::query_as::<_, HostRow>(concat!(
        "UPDATE stream_hosts SET role = $3 WHERE stream_id = $1 AND user_id = $2 RETURNING ",
        host_columns!()
    ))
    .bind(stream)
    .bind(user)
    .bind(role)
    .fetch_one(executor)
    .await
}

/// A new invitation over a declined or removed one: answered afresh.
pub(crate) async fn reopen(
    executor: impl PgExecutor<'_>,
    stream: Uuid,
    user: Uuid,
    role: HostRole,
    by: Uuid,
) -> Result<HostRow, sqlx::Error> {
    sqlx::query_as::<_, HostRow>(concat!(
        "UPDATE stream_hosts SET role = $3, invited_by = $4, invited_at = now(), \
             accepted_at = NULL, declined_at = NULL, revoked_at = NULL \
         WHERE stream_id = $1 AND user_id = $2 RETURNING ",
        host_columns!()
    ))
    .bind(stream)
    .bind(user)
    .bind(role)
    .bind(by)
    .fetch_one(executor)
    .await
}

/// What answering or removing sets, in one statement each. The time is
/// never before `invited_at`: a re-invitation that committed while this
/// statement waited for the row carries a later `invited_at` than this
/// transaction's `now()`, and the schema checks the order.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Transition {
    /// An open invitation, accepted.
    Accept,
    /// An open invitation, declined.
    Decline,
    /// An open invitation or an accepted host, removed (or left).
    Remove,
}

/// Applies `transition` if the row is in a state it applies to; `None`
/// otherwise (or if there is no row).
pub(crate) async fn transition(
    pool: &PgPool,
    stream: Uuid,
    user: Uuid,
    transition: Transition,
) -> Result<Option<HostRow>, sqlx::Error> {
    let (set, only_unanswered) = match transition {
        Transition::Accept => ("accepted_at", true),
        Transition::Decline => ("declined_at", true),
        Transition::Remove => ("revoked_at", false),
    };
    let unanswered = if only_unanswered {
        " AND accepted_at IS NULL"
    } else {
        ""
    };
    sqlx::query_as::<_, HostRow>(&format!(
        concat!(
            "UPDATE stream_hosts SET {set} = GREATEST(now(), invited_at) \
             WHERE stream_id = $1 AND user_id = $2 AND {standing}{unanswered} RETURNING ",
            host_columns!()
        ),
        set = set,
        standing = STANDING,
        unanswered = unanswered,
    ))
    .bind(stream)
    .bind(user)
    .fetch_optional(pool)
    .await
}

/// In the order they were invited, after `after`. Two statements rather
/// than one with `$2 IS NULL OR …`: a generic plan of that cannot bound the
/// index scan.
pub(crate) async fn list(
    pool: &PgPool,
    stream: Uuid,
    after: Option<TimeKey>,
    limit: i64,
) -> Result<Vec<HostRow>, sqlx::Error> {
    match after {
        None => {
            sqlx::query_as::<_, HostRow>(concat!(
                "SELECT ",
                host_columns!(),
                " FROM stream_hosts WHERE stream_id = $1 \
                 ORDER BY invited_at, user_id LIMIT $2"
            ))
            .bind(stream)
            .bind(limit)
            .fetch_all(pool)
            .await
        }
        Some((invited_at, user_id)) => {
            sqlx::query_as::<_, HostRow>(concat!(
                "SELECT ",
                host_columns!(),
                " FROM stream_hosts WHERE stream_id = $1 AND (invited_at, user_id) > ($2, $3) \
                 ORDER BY invited_at, user_id LIMIT $4"
            ))
            .bind(stream)
            .bind(invited_at)
            .bind(user_id)
            .bind(limit)
            .fetch_all(pool)
            .await
        }
    }
}
