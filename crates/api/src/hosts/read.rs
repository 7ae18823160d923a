//! Reading a stream's hosts and invitations.

use super::db;
use super::params;
use super::view::{HostPage, HostView};
use crate::access::{Permission, StreamAccess};
use crate::auth::MaybeUser;
use crate::error::{ApiError, DbResultExt};
use crate::paging::{self, ListTag, PageParams};
use crate::state::AppState;
use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};

/// Everyone ever invited to host the stream, in the order of their current
/// invitation, with its state: `invited`, `accepted`, `declined` or
/// `removed`.
#[utoipa::path(get, path = "/api/v1/streams/{id}/hosts", tag = "hosts",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The stream id (a UUID)"), PageParams),
    responses((status = 200, description = "A page of hosts", body = HostPage)))]
pub(crate) async fn list_hosts(
    State(state): State<AppState>,
    MaybeUser(caller): MaybeUser,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<PageParams>, QueryRejection>,
) -> Result<Json<HostPage>, ApiError> {
    let id = params::path(path)?;
    let access = StreamAccess::load(&state.pool, &id, caller).await?;
    access.require(Permission::ListHosts)?;
    let list = ListTag::of(&format!("hosts:{}", access.stream_id));
    let page = params::query(query)?.parse(list, paging::DEFAULT_LIMIT)?;
    let rows = db::list(&state.pool, access.stream_id, page.after, page.fetch())
        .await
        .db_err("listing hosts")?;
    let (rows, next_cursor) = page.page(rows, |row| (row.invited_at, row.user_id));
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
        .db_err("loading a host")?
        .ok_or_else(|| params::not_found(&user_id))?;
    Ok(Json(row.into()))
}
