use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use uuid::Uuid;

use super::db::{self, Inserted, MAX_ENDPOINTS_PER_OWNER};
use super::input::CreateWebhookBody;
use super::signing::new_secret;
use super::view::{
    CreatedWebhookEndpoint, RotatedSecret, WebhookDelivery, WebhookDeliveryPage, WebhookEndpoint,
    WebhookEndpointPage,
};
use crate::auth::AuthUser;
use crate::error::{ApiError, DbResultExt};
use crate::json::ApiJson;
use crate::paging::{self, ListTag, PageParams};
use crate::state::AppState;

/// Registers an endpoint for events of all your streams. The response is
/// the only one that shows its signing secret. Deliveries are POSTs of
/// `{"id", "type", "created_at", "data"}` with the headers
/// `Nova-Webhook-Id`, `Nova-Webhook-Timestamp` (unix seconds) and
/// `Nova-Webhook-Signature: v1=<hex HMAC-SHA256(secret, "{timestamp}.{body}")>`.
/// Any 2xx answer within 10 s counts as delivered; anything else (redirects
/// included) is retried with growing delays for about a day.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks",
    security(("bearer" = [])),
    request_body = CreateWebhookBody,
    responses(
        (status = 201, description = "Created; `Location` names it", body = CreatedWebhookEndpoint,
            headers(("Location" = String, description = "The endpoint's URL"))),
        (status = 409, description = "You have the most endpoints allowed", body = crate::error::ProblemDocument,
            content_type = "application/problem+json"),
    ))]
pub(crate) async fn create_endpoint(
    State(state): State<AppState>,
    AuthUser(owner): AuthUser,
    ApiJson(body): ApiJson<CreateWebhookBody>,
) -> Result<impl IntoResponse, ApiError> {
    let endpoint = body.validate(state.config.webhooks_allow_private)?;
    let secret = new_secret();
    let row = match db::insert_endpoint(&state.pool, owner, &endpoint, &secret)
        .await
        .db_err("creating a webhook endpoint")?
    {
        Inserted::Created(row) => row,
        Inserted::LimitReached => {
            return Err(ApiError::Conflict(format!(
                "you have {MAX_ENDPOINTS_PER_OWNER} webhook endpoints, the most allowed: \
                 delete one first (one endpoint can subscribe to several event types)"
            )));
        }
    };
    tracing::info!(endpoint = %row.id, %owner, url = %row.url, "webhook endpoint created");
    let location = format!("/api/v1/webhooks/{}", row.id);
    let created = CreatedWebhookEndpoint {
        endpoint: row.into(),
        secret,
    };
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(created),
    ))
}

/// Your webhook endpoints, newest first (without their secrets).
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks",
    security(("bearer" = [])),
    params(PageParams),
    responses((status = 200, description = "A page of endpoints", body = WebhookEndpointPage)))]
pub(crate) async fn list_endpoints(
    State(state): State<AppState>,
    AuthUser(owner): AuthUser,
    params: Result<Query<PageParams>, QueryRejection>,
) -> Result<Json<WebhookEndpointPage>, ApiError> {
    let params = crate::extract::query(params)?;
    let page = params.parse(
        ListTag::of(&format!("webhooks:{owner}")),
        paging::DEFAULT_LIMIT,
    )?;
    let rows = db::list_endpoints(&state.pool, owner, page.after, page.fetch())
        .await
        .db_err("listing webhook endpoints")?;
    let (rows, next_cursor) = page.page(rows, |row| (row.created_at, row.id));
    Ok(Json(WebhookEndpointPage {
        items: rows.into_iter().map(WebhookEndpoint::from).collect(),
        next_cursor,
    }))
}

/// One of your webhook endpoints (without its secret).
#[utoipa::path(get, path = "/api/v1/webhooks/{id}", tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The endpoint id (a UUID)")),
    responses((status = 200, description = "The endpoint", body = WebhookEndpoint)))]
pub(crate) async fn get_endpoint(
    State(state): State<AppState>,
    AuthUser(owner): AuthUser,
    Path(id): Path<String>,
) -> Result<Json<WebhookEndpoint>, ApiError> {
    let endpoint = owned_endpoint(&state, owner, &id).await?;
    Ok(Json(endpoint.into()))
}

/// Deletes an endpoint. Deliveries still queued for it are dropped, and
/// its delivery log goes with it.
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The endpoint id (a UUID)")),
    responses((status = 204, description = "Deleted")))]
pub(crate) async fn delete_endpoint(
    State(state): State<AppState>,
    AuthUser(owner): AuthUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let endpoint = parse_id(&id)?;
    let deleted = db::delete_endpoint(&state.pool, owner, endpoint)
        .await
        .db_err("deleting a webhook endpoint")?;
    if !deleted {
        return Err(not_found(&id));
    }
    tracing::info!(%endpoint, %owner, "webhook endpoint deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// Replaces the endpoint's signing secret, at once: every attempt from now
/// on, retries of older deliveries included, is signed with the new one.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/rotate-secret", tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The endpoint id (a UUID)")),
    responses((status = 200, description = "The new secret, shown only now", body = RotatedSecret)))]
pub(crate) async fn rotate_secret(
    State(state): State<AppState>,
    AuthUser(owner): AuthUser,
    Path(id): Path<String>,
) -> Result<Json<RotatedSecret>, ApiError> {
    let endpoint = parse_id(&id)?;
    let secret = new_secret();
    let rotated = db::rotate_secret(&state.pool, owner, endpoint, &secret)
        .await
        .db_err("rotating a webhook secret")?;
    if !rotated {
        return Err(not_found(&id));
    }
    tracing::info!(%endpoint, %owner, "webhook secret rotated");
    Ok(Json(RotatedSecret {
        id: endpoint,
        secret,
    }))
}

/// The endpoint's deliveries, newest first: each event sent to it, its
/// status, attempts, the last answer or error, and the body sent.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The endpoint id (a UUID)"), PageParams),
    responses((status = 200, description = "A page of deliveries", body = WebhookDeliveryPage)))]
pub(crate) async fn list_deliveries(
    State(state): State<AppState>,
    AuthUser(owner): AuthUser,
    Path(id): Path<String>,
    params: Result<Query<PageParams>, QueryRejection>,
) -> Result<Json<WebhookDeliveryPage>, ApiError> {
    let params = crate::extract::query(params)?;
    let endpoint = owned_endpoint(&state, owner, &id).await?;
    let page = params.parse(
        ListTag::of(&format!("webhook-deliveries:{}", endpoint.id)),
        paging::DEFAULT_LIMIT,
    )?;
    let rows = db::list_deliveries(&state.pool, endpoint.id, page.after, page.fetch())
        .await
        .db_err("listing webhook deliveries")?;
    let (rows, next_cursor) = page.page(rows, |row| (row.created_at, row.id));
    Ok(Json(WebhookDeliveryPage {
        items: rows.into_iter().map(WebhookDelivery::from).collect(),
        next_cursor,
    }))
}

async fn owned_endpoint(
    state: &AppState,
    owner: Uuid,
    id: &str,
) -> Result<db::EndpointRow, ApiError> {
    db::find_endpoint(&state.pool, owner, parse_id(id)?)
        .await
        .db_err("loading a webhook endpoint")?
        .ok_or_else(|| not_found(id))
}

/// Not a UUID, not yours, or not there: the same 404, so ids do not leak.
fn parse_id(id: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(id).map_err(|_| not_found(id))
}

fn not_found(id: &str) -> ApiError {
    ApiError::NotFound(format!("no webhook endpoint {id:?} among yours"))
}
