//! The SQL of the webhook routes. Every query is scoped to the owner, so
//! another user's endpoint is indistinguishable from a missing one.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use super::input::NewEndpoint;
use crate::paging::TimeKey;

/// Each endpoint receives every event it subscribed to: a cap keeps one
/// owner from multiplying the delivery work without bound.
pub(crate) const MAX_ENDPOINTS_PER_OWNER: i64 = 20;

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct EndpointRow {
    pub id: Uuid,
    pub url: String,
    pub event_types: Vec<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::Type, serde::Serialize, utoipa::ToSchema)]
#[sqlx(type_name = "text", rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub(crate) enum DeliveryStatus {
    /// Waiting for its first or next attempt.
    Pending,
    /// An attempt got a 2xx answer.
    Delivered,
    /// Every attempt failed; no more will be made.
    Failed,
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct DeliveryRow {
    pub id: Uuid,
    pub event_type: String,
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub response_status: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub next_attempt_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub payload: Value,
}

pub(crate) enum Inserted {
    Created(EndpointRow),
    LimitReached,
}

/// Inserts an endpoint unless the owner has the most allowed. The count and
/// the insert are serialized per owner by an advisory lock, so concurrent
/// creates cannot overshoot the cap.
pub(crate) async fn insert_endpoint(
    pool: &PgPool,
    owner: Uuid,
    endpoint: &NewEndpoint,
    secret: &str,
) -> Result<Inserted, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('webhook_endpoints:' || $1, 0))")
        .bind(owner.to_string())
        .execute(&mut *tx)
        .await?;
    let count: i64 =
        sqlx::query_scalar("SELECT count(*) FROM webhook_endpoints WHERE owner_id = $1")
            .bind(owner)
            .fetch_one(&mut *tx)
            .await?;
    if count >= MAX_ENDPOINTS_PER_OWNER {
        return Ok(Inserted::LimitReached);
    }
    let row = sqlx::query_as::<_, EndpointRow>(
        "INSERT INTO webhook_endpoints (owner_id, url, secret, event_types) \
         VALUES ($1, $2, $3, $4) RETURNING id, url, event_types, created_at",
    )
    .bind(owner)
    .bind(&endpoint.url)
    .bind(secret)
    .bind(&endpoint.event_types)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Inserted::Created(row))
}

pub(crate) async fn find_endpoint(
    pool: &PgPool,
    owner: Uuid,
    id: Uuid,
) -> Result<Option<EndpointRow>, sqlx::Error> {
    sqlx::query_as::<_, EndpointRow>(
        "SELECT id, url, event_types, created_at FROM webhook_endpoints \
         WHERE id = $1 AND owner_id = $2",
    )
    .bind(id)
    .bind(owner)
    .fetch_optional(pool)
    .await
}

/// Newest first, strictly after `after` in that order.
pub(crate) async fn list_endpoints(
    pool: &PgPool,
    owner: Uuid,
    after: Option<TimeKey>,
    limit: i64,
) -> Result<Vec<EndpointRow>, sqlx::Error> {
    // `$2 IS NULL OR …` is fine here: an owner has at most a few endpoints.
    sqlx::query_as::<_, EndpointRow>(
        "SELECT id, url, event_types, created_at FROM webhook_endpoints \
         WHERE owner_id = $1 AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3)) \
         ORDER BY created_at DESC, id DESC LIMIT $4",
    )
    .bind(owner)
    .bind(after.map(|(created_at, _)| created_at))
    .bind(after.map(|(_, id)| id))
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Deletes the endpoint and, with it, its deliveries and their log.
pub(crate) async fn delete_endpoint(
    pool: &PgPool,
    owner: Uuid,
    id: Uuid,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1 AND owner_id = $2")
        .bind(id)
        .bind(owner)
        .execute(pool)
        .await?;
    Ok(result.rows_affected() > 0)
}

pub(crate) async fn rotate_secret(
    pool: &PgPool,
    owner: Uuid,
    id: Uuid,
    secret: &str,
) -> Result<bool, sqlx::Error> {
    let result =
        sqlx::query("UPDATE webhook_endpoints SET secret = $3 WHERE id = $1 AND owner_id = $2")
            .bind(id)
            .bind(owner)
            .bind(secret)
            .execute(pool)
            .await?;
    Ok(result.rows_affected() > 0)
}

/// The endpoint's deliveries, newest first: a keyset range of
/// `webhook_deliveries_endpoint_idx`, however long the log grows. The
/// caller has checked that the endpoint is the owner's.
pub(crate) async fn list_deliveries(
    pool: &PgPool,
    endpoint: Uuid,
    after: Option<TimeKey>,
    limit: i64,
) -> Result<Vec<DeliveryRow>, sqlx::Error> {
    macro_rules! columns {
        () => {
            "SELECT id, event_type, status, attempts, response_status, last_error, created_at, \
             last_attempt_at, next_attempt_at, delivered_at, payload FROM webhook_deliveries "
        };
    }
    // Two statements, as for streams: a generic plan of one with
    // `$2 IS NULL OR …` could not use the cursor as an index bound.
    match after {
        None => {
            sqlx::query_as::<_, DeliveryRow>(concat!(
                columns!(),
                "WHERE endpoint_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2"
            ))
            .bind(endpoint)
            .bind(limit)
            .fetch_all(pool)
            .await
        }
        Some((created_at, id)) => {
            sqlx::query_as::<_, DeliveryRow>(concat!(
                columns!(),
                "WHERE endpoint_id = $1 AND (created_at, id) < ($2, $3) \
                 ORDER BY created_at DESC, id DESC LIMIT $4"
            ))
            .bind(endpoint)
            .bind(created_at)
            .bind(id)
            .bind(limit)
            .fetch_all(pool)
            .await
        }
    }
}
