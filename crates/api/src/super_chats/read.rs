//! Reading super chats: the list (all, or those pinned now), one, and the
//! totals per currency.

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use serde::Deserialize;

use super::db;
use super::params;
use super::view::{Audience, SuperChatPage, SuperChatTotals, SuperChatView};
use crate::access::{Permission, StreamAccess};
use crate::auth::MaybeUser;
use crate::error::{ApiError, DbResultExt};
use crate::paging::{self, ListTag, PageParams};
use crate::state::AppState;

/// Which super chats: `limit` and `cursor` are the [`PageParams`].
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListFilters {
    /// `true`: only those pinned now, highest tier first and newest first
    /// within a tier. Otherwise all, newest first.
    pinned: Option<bool>,
}

/// A stream's super chats, newest first; or with `pinned=true` the ones
/// pinned right now (neither hidden nor refunded).
///
/// Hidden super chats are left out, except for the owner, co-hosts and
/// moderators, who see them with `hidden_at` and `hidden_by`. Refunded ones
/// are listed with `status: refunded`.
#[utoipa::path(get, path = "/api/v1/streams/{id}/super-chats", tag = "super-chats",
    security((), ("bearer" = [])),
    params(("id" = String, Path, description = "The stream id (a UUID)"), PageParams, ListFilters),
    responses((status = 200, description = "A page of super chats", body = SuperChatPage)))]
pub(crate) async fn list_super_chats(
    State(state): State<AppState>,
    MaybeUser(caller): MaybeUser,
    path: Result<Path<String>, PathRejection>,
    page: Result<Query<PageParams>, QueryRejection>,
    filters: Result<Query<ListFilters>, QueryRejection>,
) -> Result<Json<SuperChatPage>, ApiError> {
    let id = params::path(path)?;
    let access = StreamAccess::load(&state.pool, &id, caller).await?;
    access.require(Permission::ReadSuperChats)?;
    let page = params::query(page)?;
    let pinned = params::query(filters)?.pinned.unwrap_or(false);
    let audience = Audience::of(&access);
    // The two lists sort differently, so each has its own tag and key.
    let (rows, next_cursor) = if pinned {
        let list = ListTag::of(&format!("super_chats:pinned:{}", access.stream_id));
        let page = page.parse(list, paging::DEFAULT_LIMIT)?;
        let rows = db::list_pinned(&state.pool, access.stream_id, page.after, page.fetch())
            .await
            .db_err("listing super chats")?;
        page.page(rows, |row| (row.tier, row.created_at, row.id))
    } else {
        let list = ListTag::of(&format!("super_chats:newest:{}", access.stream_id));
        let page = page.parse(list, paging::DEFAULT_LIMIT)?;
        let rows = db::list_newest(
            &state.pool,
            access.stream_id,
            audience.is_staff(),
            page.after,
            page.fetch(),
        )
        .await
        .db_err("listing super chats")?;
        page.page(rows, |row| (row.created_at, row.id))
    };
    let items = rows
        .into_iter()
        .map(|row| SuperChatView::new(row, audience))
        .collect();
    Ok(Json(SuperChatPage { items, next_cursor }))
}

/// One super chat. Hidden ones are 404 except to the owner, co-hosts and
/// moderators.
#[utoipa::path(get, path = "/api/v1/streams/{id}/super-chats/{super_chat_id}",
    tag = "super-chats",
    security((), ("bearer" = [])),
    params(
        ("id" = String, Path, description = "The stream id (a UUID)"),
        ("super_chat_id" = String, Path, description = "The super chat id (a UUID)"),
    ),
    responses((status = 200, description = "The super chat", body = SuperChatView)))]
pub(crate) async fn get_super_chat(
    State(state): State<AppState>,
    MaybeUser(caller): MaybeUser,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Json<SuperChatView>, ApiError> {
    let (id, super_chat_id) = params::path(path)?;
    let access = StreamAccess::load(&state.pool, &id, caller).await?;
    access.require(Permission::ReadSuperChats)?;
    let super_chat = params::super_chat_id(&super_chat_id)?;
    let audience = Audience::of(&access);
    let row = db::find(&state.pool, access.stream_id, super_chat)
        .await
        .db_err("loading a super chat")?
        .filter(|row| row.hidden_at.is_none() || audience.is_staff())
        .ok_or_else(|| params::not_found(super_chat))?;
    Ok(Json(SuperChatView::new(row, audience)))
}

/// What the stream was paid in super chats, per currency: the count and sum
/// of paid super chats (hidden ones included, refunded ones not). There are
/// no exchange rates here, so currencies are not added up.
#[utoipa::path(get, path = "/api/v1/streams/{id}/super-chats/totals", tag = "super-chats",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The stream id (a UUID)")),
    responses((status = 200, description = "Totals per currency, by currency code",
        body = SuperChatTotals)))]
pub(crate) async fn super_chat_totals(
    State(state): State<AppState>,
    MaybeUser(caller): MaybeUser,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<SuperChatTotals>, ApiError> {
    let id = params::path(path)?;
    let access = StreamAccess::load(&state.pool, &id, caller).await?;
    access.require(Permission::ReadSuperChatTotals)?;
    let rows = db::totals(&state.pool, access.stream_id)
        .await
        .db_err("summing super chats")?;
    Ok(Json(SuperChatTotals {
        items: rows.into_iter().map(Into::into).collect(),
    }))
}
