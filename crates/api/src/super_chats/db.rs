//! The SQL of the super chat API. Every query is scoped to the stream, so a
//! super chat id of another stream is the same as a missing one.

use chrono::{DateTime, Utc};
use sqlx::{PgExecutor, PgPool};
use uuid::Uuid;

use super::input::NewSuperChat;
use super::tiers::Placement;

/// The columns the API reads.
macro_rules! super_chat_columns {
    () => {
        "id, stream_id, sender_id, amount_minor, currency, message, status, payment_reference, \
         tier, colour, created_at, paid_at, pinned_until, hidden_at, hidden_by, refunded_at"
    };
}

/// Super chats a list shows: money that arrived. `pending` and `failed`
/// rows (which this engine does not write) were never paid.
const LISTED: &str = "status IN ('paid', 'refunded')";

#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::Type, serde::Serialize, utoipa::ToSchema)]
#[sqlx(type_name = "text", rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum SuperChatStatus {
    Pending,
    Paid,
    Refunded,
    Failed,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub(crate) struct SuperChatRow {
    pub id: Uuid,
    pub stream_id: Uuid,
    pub sender_id: Uuid,
    pub amount_minor: i64,
    pub currency: String,
    pub message: String,
    pub status: SuperChatStatus,
    pub payment_reference: String,
    pub tier: i16,
    pub colour: String,
    pub created_at: DateTime<Utc>,
    pub paid_at: Option<DateTime<Utc>>,
    pub pinned_until: Option<DateTime<Utc>>,
    pub hidden_at: Option<DateTime<Utc>>,
    pub hidden_by: Option<Uuid>,
    pub refunded_at: Option<DateTime<Utc>>,
}

/// The super chat `sender` made with idempotency key `key`, on any stream.
pub(crate) async fn find_by_key(
    executor: impl PgExecutor<'_>,
    sender: Uuid,
    key: &str,
) -> Result<Option<SuperChatRow>, sqlx::Error> {
    sqlx::query_as::<_, SuperChatRow>(concat!(
        "SELECT ",
        super_chat_columns!(),
        " FROM super_chats WHERE sender_id = $1 AND idempotency_key = $2"
    ))
    .bind(sender)
    .bind(key)
    .fetch_optional(executor)
    .await
}

/// Records a captured payment: `paid` now, pinned from now for the tier's
/// pin time. `None` when a row with the same idempotency key or payment
/// reference exists (or is being inserted by a transaction that then
/// commits): the caller looks up which.
///
/// Every unique constraint is an arbiter (no conflict target) on purpose.
/// With only `super_chats_idempotency_key` as the target, two identical
/// requests whose inserts run at the same instant could both pass the
/// arbiter pre-check; the second would then wait on the first's entry in
/// `super_chats_payment_reference_key` (its reference is derived from the
/// same key), which a non-arbiter index checks as a plain unique index, and
/// fail with a unique violation instead of doing nothing.
pub(crate) async fn insert(
    executor: impl PgExecutor<'_>,
    stream: Uuid,
    sender: Uuid,
    key: &str,
    chat: &NewSuperChat,
    placement: &Placement,
) -> Result<Option<SuperChatRow>, sqlx::Error> {
    let pin_seconds = (placement.pin_seconds > 0).then_some(i64::from(placement.pin_seconds));
    sqlx::query_as::<_, SuperChatRow>(concat!(
        "INSERT INTO super_chats (stream_id, sender_id, amount_minor, currency, message, \
             status, payment_reference, idempotency_key, tier, colour, paid_at, pinned_until) \
         VALUES ($1, $2, $3, $4, $5, 'paid', $6, $7, $8, $9, now(), \
             now() + $10::bigint * interval '1 second') \
         ON CONFLICT DO NOTHING RETURNING ",
        super_chat_columns!()
    ))
    .bind(stream)
    .bind(sender)
    .bind(chat.amount_minor)
    .bind(chat.currency.code)
    .bind(&chat.message)
    .bind(&chat.payment_reference)
    .bind(key)
    .bind(placement.tier)
    .bind(&placement.colour)
    .bind(pin_seconds)
    .fetch_optional(executor)
    .await
}

pub(crate) async fn find(
    pool: &PgPool,
    stream: Uuid,
    id: Uuid,
) -> Result<Option<SuperChatRow>, sqlx::Error> {
    sqlx::query_as::<_, SuperChatRow>(&format!(
        concat!(
            "SELECT ",
            super_chat_columns!(),
            " FROM super_chats WHERE id = $1 AND stream_id = $2 AND {}"
        ),
        LISTED
    ))
    .bind(id)
    .bind(stream)
    .fetch_optional(pool)
    .await
}

/// Newest first, after `after`, through `super_chats_stream_newest_idx`.
/// Hidden ones only when `with_hidden`. Two statements rather than one with
/// `$2 IS NULL OR …`: a generic plan of that cannot bound the index scan.
pub(crate) async fn list_newest(
    pool: &PgPool,
    stream: Uuid,
    with_hidden: bool,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<SuperChatRow>, sqlx::Error> {
    let head = format!(
        concat!(
            "SELECT ",
            super_chat_columns!(),
            " FROM super_chats WHERE stream_id = $1 AND {} AND ($2 OR hidden_at IS NULL)"
        ),
        LISTED
    );
    match after {
        None => {
            sqlx::query_as::<_, SuperChatRow>(&format!(
                "{head} ORDER BY created_at DESC, id DESC LIMIT $3"
            ))
            .bind(stream)
            .bind(with_hidden)
            .bind(limit)
            .fetch_all(pool)
            .await
        }
        Some((created_at, id)) => {
            sqlx::query_as::<_, SuperChatRow>(&format!(
                "{head} AND (created_at, id) < ($3, $4) ORDER BY created_at DESC, id DESC LIMIT $5"
            ))
            .bind(stream)
            .bind(with_hidden)
            .bind(created_at)
            .bind(id)
            .bind(limit)
            .fetch_all(pool)
            .await
        }
    }
}

/// Pinned right now (and neither hidden nor refunded): highest tier first,
/// newest first within a tier. Few rows match, found through
/// `super_chats_pinned_idx`, so the sort is cheap.
pub(crate) async fn list_pinned(
    pool: &PgPool,
    stream: Uuid,
    after: Option<(i16, DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<SuperChatRow>, sqlx::Error> {
    let head = concat!(
        "SELECT ",
        super_chat_columns!(),
        " FROM super_chats WHERE stream_id = $1 AND pinned_until > now() \
         AND status = 'paid' AND hidden_at IS NULL"
    );
    let order = "ORDER BY tier DESC, created_at DESC, id DESC";
    match after {
        None => {
            sqlx::query_as::<_, SuperChatRow>(&format!("{head} {order} LIMIT $2"))
                .bind(stream)
                .bind(limit)
                .fetch_all(pool)
                .await
        }
        Some((tier, created_at, id)) => {
            sqlx::query_as::<_, SuperChatRow>(&format!(
                "{head} AND (tier, created_at, id) < ($2, $3, $4) {order} LIMIT $5"
            ))
            .bind(stream)
            .bind(tier)
            .bind(created_at)
            .bind(id)
            .bind(limit)
            .fetch_all(pool)
            .await
        }
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct TotalRow {
    pub currency: String,
    pub count: i64,
    pub amount_minor: i64,
}

/// Paid (not refunded) super chats per currency, hidden ones included (they
/// were paid all the same): an index-only scan of `super_chats_paid_totals_idx`.
pub(crate) async fn totals(pool: &PgPool, stream: Uuid) -> Result<Vec<TotalRow>, sqlx::Error> {
    sqlx::query_as::<_, TotalRow>(
        "SELECT currency, count(*) AS count, sum(amount_minor)::bigint AS amount_minor \
         FROM super_chats WHERE stream_id = $1 AND status = 'paid' \
         GROUP BY currency ORDER BY currency",
    )
    .bind(stream)
    .fetch_all(pool)
    .await
}

/// Pins a paid, visible super chat for `seconds`, or when `None` for its
/// tier's pin time (`tier_pins[tier - 1]`, 0 for "not pinned on its own")
/// or else `default_seconds`. `None` if it is not there or not pinnable.
pub(crate) async fn pin(
    pool: &PgPool,
    stream: Uuid,
    id: Uuid,
    seconds: Option<u32>,
    tier_pins: &[i64],
    default_seconds: i64,
) -> Result<Option<SuperChatRow>, sqlx::Error> {
    sqlx::query_as::<_, SuperChatRow>(concat!(
        "UPDATE super_chats SET pinned_until = now() + interval '1 second' * \
             COALESCE($3::bigint, NULLIF(($4::bigint[])[tier], 0), $5::bigint) \
         WHERE id = $1 AND stream_id = $2 AND status = 'paid' AND hidden_at IS NULL \
         RETURNING ",
        super_chat_columns!()
    ))
    .bind(id)
    .bind(stream)
    .bind(seconds.map(i64::from))
    .bind(tier_pins)
    .bind(default_seconds)
    .fetch_optional(pool)
    .await
}

/// Hides a visible super chat and unpins it; `None` if it is not there or
/// already hidden.
pub(crate) async fn hide(
    pool: &PgPool,
    stream: Uuid,
    id: Uuid,
    by: Uuid,
) -> Result<Option<SuperChatRow>, sqlx::Error> {
    sqlx::query_as::<_, SuperChatRow>(&format!(
        concat!(
            "UPDATE super_chats SET hidden_at = now(), hidden_by = $3, pinned_until = NULL \
             WHERE id = $1 AND stream_id = $2 AND {} AND hidden_at IS NULL RETURNING ",
            super_chat_columns!()
        ),
        LISTED
    ))
    .bind(id)
    .bind(stream)
    .bind(by)
    .fetch_optional(pool)
    .await
}

/// Marks a paid super chat refunded and unpins it; `None` if it is not
/// there or not `paid`.
pub(crate) async fn refund(
    pool: &PgPool,
    stream: Uuid,
    id: Uuid,
) -> Result<Option<SuperChatRow>, sqlx::Error> {
    sqlx::query_as::<_, SuperChatRow>(concat!(
        "UPDATE super_chats SET status = 'refunded', refunded_at = now(), pinned_until = NULL \
         WHERE id = $1 AND stream_id = $2 AND status = 'paid' RETURNING ",
        super_chat_columns!()
    ))
    .bind(id)
    .bind(stream)
    .fetch_optional(pool)
    .await
}
