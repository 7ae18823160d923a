//! `POST /api/v1/streams/{id}/super-chats`: records a captured payment as a
//! super chat, once per idempotency key however often it is retried.

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::db::{self, SuperChatRow};
use super::input::{IdempotencyKey, NewSuperChat, NewSuperChatBody};
use super::params;
use super::tiers;
use super::view::{Audience, SuperChatView};
use crate::access::{Permission, StreamAccess};
use crate::auth::MaybeUser;
use crate::error::{ApiError, DbResultExt, FieldError};
use crate::event_bus::EventPayload;
use crate::json::ApiJson;
use crate::state::AppState;
use crate::webhooks::{self, WebhookEvent};

/// Set on a response that returns what an earlier request with the same
/// `Idempotency-Key` created.
const REPLAYED: &str = "idempotent-replayed";

/// Sends a super chat: a paid message, highlighted and pinned by the tier
/// its amount falls in.
///
/// Payment capture happens before this call, outside this engine: the
/// request stands for a captured payment, so the super chat is `paid` at
/// once (whatever the stream's status: the money has moved). The
/// `Idempotency-Key` header names the payment: repeating the request with
/// the same key, however often and concurrently, returns the super chat the
/// first request created (200 with `Idempotent-Replayed: true`) and never
/// records a second one; the same key with a different amount, currency,
/// message, payment reference or stream is refused with 422. Keys are per
/// sender. The stream's owner gets a `super_chat.created` webhook and
/// followers of the stream a `super_chat` event.
#[utoipa::path(post, path = "/api/v1/streams/{id}/super-chats", tag = "super-chats",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The stream id (a UUID)"),
        ("Idempotency-Key" = String, Header, min_length = 1, max_length = 255,
            description = "Names this payment (a UUID you generate works): 1 to 255 visible \
                ASCII characters. Required."),
    ),
    request_body = NewSuperChatBody,
    responses(
        (status = 201, description = "Recorded; `Location` names it", body = SuperChatView,
            headers(("Location" = String, description = "The super chat's URL"))),
        (status = 200, description = "A repeat of an earlier request with this \
            `Idempotency-Key`: the super chat that request created", body = SuperChatView,
            headers(
                ("Location" = String, description = "The super chat's URL"),
                ("Idempotent-Replayed" = String, description = "`true`"),
            )),
        (status = 409, description = "`payment_reference` belongs to another super chat",
            body = crate::error::ProblemDocument, content_type = "application/problem+json"),
    ))]
pub(crate) async fn create_super_chat(
    State(state): State<AppState>,
    MaybeUser(caller): MaybeUser,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Result<ApiJson<NewSuperChatBody>, ApiError>,
) -> Result<Response, ApiError> {
    let id = params::path(path)?;
    let access = StreamAccess::load(&state.pool, &id, caller).await?;
    access.require(Permission::SendSuperChat)?;
    let sender = access.user()?;
    let key = IdempotencyKey::from_headers(&headers)?;
    let ApiJson(body) = body?;
    let chat = body.validate(sender, &key)?;

    // A retry of a payment already recorded: answered before the tiers are
    // consulted, so it returns the original even if they changed since.
    if let Some(existing) = db::find_by_key(&state.pool, sender, &key.0)
        .await
        .db_err("looking up an idempotency key")?
    {
        return replay(existing, &access, &key, &chat);
    }
    let placement = tiers::place(
        &state.config.super_chat_tiers,
        chat.amount_minor,
        chat.currency,
        chat.message.chars().count(),
    )
    .map_err(|error| ApiError::Validation(vec![error]))?;

    let mut tx = state.pool.begin().await.db_err("starting a transaction")?;
    let inserted = db::insert(
        &mut *tx,
        access.stream_id,
        sender,
        &key.0,
        &chat,
        &placement,
    )
    .await
    .db_err("recording a super chat")?;
    let Some(row) = inserted else {
        tx.rollback().await.db_err("rolling back")?;
        // A concurrent request with this key won the race (and committed:
        // the insert waited for it), or the payment reference is another
        // payment's.
        return match db::find_by_key(&state.pool, sender, &key.0)
            .await
            .db_err("looking up an idempotency key")?
        {
            Some(existing) => replay(existing, &access, &key, &chat),
            None => Err(ApiError::Conflict(format!(
                "payment_reference {:?} already belongs to another super chat: each payment is \
                 recorded once. To retry this one, repeat the request with its original \
                 Idempotency-Key",
                chat.payment_reference
            ))),
        };
    };
    let for_owner = SuperChatView::new(row.clone(), Audience::owner(access.owner_id));
    webhooks::enqueue(
        &mut tx,
        access.owner_id,
        WebhookEvent::SuperChatCreated,
        &json!(for_owner),
    )
    .await
    .db_err("queueing the super_chat.created webhook")?;
    tx.commit().await.db_err("recording a super chat")?;
    metrics::counter!(crate::metrics::SUPER_CHATS).increment(1);
    tracing::info!(
        super_chat = %row.id, stream = %row.stream_id, %sender,
        amount_minor = row.amount_minor, currency = %row.currency, tier = row.tier,
        "super chat recorded"
    );
    state.events.publish(
        access.stream_id,
        EventPayload::SuperChat(SuperChatView::new(row.clone(), Audience::public())),
    );
    Ok(respond(StatusCode::CREATED, row, &access, false))
}

/// The original super chat if this request is the same payment, or what
/// differs if the key was used for another one.
fn replay(
    existing: SuperChatRow,
    access: &StreamAccess,
    key: &IdempotencyKey,
    chat: &NewSuperChat,
) -> Result<Response, ApiError> {
    let used = format!("Idempotency-Key {:?} was used for another payment", key.0);
    let fix = "use a new key for a new payment, or repeat the original request unchanged";
    let mut errors = Vec::new();
    if existing.stream_id != access.stream_id {
        errors.push(FieldError::new(
            &[],
            format!("{used}, to stream {}: {fix}", existing.stream_id),
        ));
    }
    if existing.amount_minor != chat.amount_minor {
        errors.push(FieldError::new(
            &["amount_minor"],
            format!("{used}, of {} minor units: {fix}", existing.amount_minor),
        ));
    }
    if existing.currency != chat.currency.code {
        errors.push(FieldError::new(
            &["currency"],
            format!("{used}, in {}: {fix}", existing.currency),
        ));
    }
    if existing.message != chat.message {
        errors.push(FieldError::new(
            &["message"],
            format!("{used}, with another message: {fix}"),
        ));
    }
    if existing.payment_reference != chat.payment_reference {
        errors.push(FieldError::new(
            &["payment_reference"],
            format!("{used}, with another payment reference: {fix}"),
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    Ok(respond(StatusCode::OK, existing, access, true))
}

fn respond(
    status: StatusCode,
    row: SuperChatRow,
    access: &StreamAccess,
    replayed: bool,
) -> Response {
    let location = format!("/api/v1/streams/{}/super-chats/{}", row.stream_id, row.id);
    let view = SuperChatView::new(row, Audience::of(access));
    let mut response = (status, [(header::LOCATION, location)], Json(view)).into_response();
    if replayed {
        response
            .headers_mut()
            .insert(REPLAYED, HeaderValue::from_static("true"));
    }
    response
}
