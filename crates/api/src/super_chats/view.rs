//! What the API shows of a super chat, and to whom.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::db::{SuperChatRow, SuperChatStatus, TotalRow};
use crate::access::{Role, StreamAccess};

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct SuperChatView {
    pub id: Uuid,
    pub stream_id: Uuid,
    pub sender_id: Uuid,
    /// In minor units of `currency`.
    pub amount_minor: i64,
    pub currency: String,
    /// Empty when the sender wrote none.
    pub message: String,
    /// `paid`, or `refunded` after the owner refunded it.
    pub status: SuperChatStatus,
    /// 1-based band of the configured tiers the amount fell into when sent.
    pub tier: i16,
    /// `#RRGGBB` highlight of the tier.
    pub colour: String,
    pub created_at: DateTime<Utc>,
    pub paid_at: Option<DateTime<Utc>>,
    /// Pinned until then; null when never pinned, or hidden or refunded since.
    pub pinned_until: Option<DateTime<Utc>>,
    pub refunded_at: Option<DateTime<Utc>>,
    /// The payment's reference: shown to its sender and the stream's owner only.
    pub payment_reference: Option<String>,
    /// When it was hidden: shown to the owner, co-hosts and moderators
    /// only (nobody else sees hidden super chats).
    pub hidden_at: Option<DateTime<Utc>>,
    /// Who hid it, for the same audience as `hidden_at`.
    pub hidden_by: Option<Uuid>,
}

/// Who is looking, which decides the fields they see.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Audience {
    caller: Option<Uuid>,
    owner: bool,
    staff: bool,
}

impl Audience {
    pub fn of(access: &StreamAccess) -> Self {
        Self {
            caller: access.caller,
            owner: access.role == Role::Owner,
            staff: access.role.is_staff(),
        }
    }

    /// Everyone following the stream's live events.
    pub fn public() -> Self {
        Self {
            caller: None,
            owner: false,
            staff: false,
        }
    }

    /// The stream's owner, as their webhooks see it.
    pub fn owner(owner: Uuid) -> Self {
        Self {
            caller: Some(owner),
            owner: true,
            staff: true,
        }
    }

    pub fn is_staff(self) -> bool {
        self.staff
    }
}

impl SuperChatView {
    pub(crate) fn new(row: SuperChatRow, audience: Audience) -> Self {
        let sees_reference = audience.owner || audience.caller == Some(row.sender_id);
        Self {
            id: row.id,
            stream_id: row.stream_id,
            sender_id: row.sender_id,
            amount_minor: row.amount_minor,
            currency: row.currency,
            message: row.message,
            status: row.status,
            tier: row.tier,
            colour: row.colour,
            created_at: row.created_at,
            paid_at: row.paid_at,
            pinned_until: row.pinned_until,
            refunded_at: row.refunded_at,
            payment_reference: sees_reference.then_some(row.payment_reference),
            hidden_at: row.hidden_at.filter(|_| audience.staff),
            hidden_by: row.hidden_by.filter(|_| audience.staff),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct SuperChatPage {
    pub items: Vec<SuperChatView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct CurrencyTotal {
    pub currency: String,
    /// Paid super chats in this currency; refunded ones are not counted.
    pub count: i64,
    /// Their sum, in minor units of `currency`.
    pub amount_minor: i64,
}

/// One entry per currency the stream was paid in, by currency code.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct SuperChatTotals {
    pub items: Vec<CurrencyTotal>,
}

impl From<TotalRow> for CurrencyTotal {
    fn from(row: TotalRow) -> Self {
        Self {
            currency: row.currency,
            count: row.count,
            amount_minor: row.amount_minor,
        }
    }
}
