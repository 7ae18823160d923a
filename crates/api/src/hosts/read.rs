//! Reading a stream's hosts and invitations.

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use serde::Deserialize;

use super::cursor::Cursor;
use super::db;
use super::params;
use super::view::{HostPage, HostView};
use crate::access::{Permission, StreamAccess};
use crate::auth::MaybeUser;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListParams {
    /// Page size, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// Everyone ever invited to host the stream, in the order of their current
/// invitation, with its state: `invited`, `accepted`, `declined` or
/// `removed`.
#[utoipa::path(get, path = "/api/v1/streams/{id}/hosts", tag = "hosts",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The stream id (a UUID)"), ListParams),
    responses((status = 200, description = "A page of hosts", body = HostPage)))]
pub(crate) async fn list_hosts(
    State(state): State<AppState>,
    MaybeUser(caller): MaybeUser,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<HostPage>, ApiError> {
    let id = params::path(path)?;
    let access = StreamAccess::load(&state.pool, &id, caller).await?;
    access.require(Permission::ListHosts)?;
    let query = params::query(query)?;
    let limit = crate::extract::page_size(query.limit, params::DEFAULT_PAGE)?;
    let after = match query.cursor.as_deref() {
        None | Some("") => None,
        Some(text) => Some(Cursor::decode(text).ok_or_else(|| {
            ApiError::BadRequest(
                "cursor is not one this API issued: pass `next_cursor` from the previous page \
                 unchanged"
                    .to_owned(),
            )
        })?),
    };
    // One row more than the page tells whether another page follows.
    let mut rows = db::list(&state.pool, access.stream_id, after, i64::from(limit) + 1)
        .await
        .map_err(|error| ApiError::from_db("listing hosts", error))?;
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next_cursor = more
        .then(|| rows.last().map(|row| row.cursor().encode()))
        .flatten();
    Ok(Json(HostPage {
        items: rows.into_iter().map(HostView::from).collect(),
        next_cursor,
    }))
}

/// One host or invitation. Besides the owner, co-hosts and moderators, the
/// invited user may read their own (to see the role they were invited as).
#[utoipa::path(get, path = "/api/v1/streams/{id}/hosts/{user_id}", tag = "hosts",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The stream id (a UUID)"),
        ("user_id" = String, Path, description = "The host's user id (a UUID)"),
    ),
    responses((status = 200, description = "The host", body = HostView)))]
pub(crate) async fn get_host(
    State(state): State<AppState>,
    MaybeUser(caller): MaybeUser,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Json<HostView>, ApiError> {
    let (id, user_id) = params::path(path)?;
    let access = StreamAccess::load(&state.pool, &id, caller).await?;
    let user = params::user_id(&user_id);
    if user.is_none() || user != access.caller {
        access.require(Permission::ListHosts)?;
    }
    let user = user.ok_or_else(|| params::not_found(&user_id))?;
    let row = db::find(&state.pool, access.stream_id, user)
        .await
        .map_err(|error| ApiError::from_db("loading a host", error))?
        .ok_or_else(|| params::not_found(&user_id))?;
    Ok(Json(row.into()))
}
