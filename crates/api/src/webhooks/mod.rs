//! Webhooks: the owner's endpoints, the outbox of deliveries written in the
//! same transaction as the change they report, and the worker that signs
//! and sends them.

mod outbox;

pub(crate) use outbox::{WebhookEvent, enqueue};
