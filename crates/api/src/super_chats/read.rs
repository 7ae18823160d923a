//! Reading super chats: the list (all, or those pinned now), one, and the
//! totals per currency.

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use serde::Deserialize;

use super::cursor::Cursor;
use super::db;
use super::params;
use super::view::{Audience, SuperChatPage, SuperChatTotals, SuperChatView};
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
    /// `next_cursor` of the previous page of the same list.
    cursor: Option<String>,
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
    params(("id" = String, Path, description = "The stream id (a UUID)"), ListParams),
    responses((status = 200, description = "A page of super chats", body = SuperChatPage)))]
pub(crate) async fn list_super_chats(
    State(state): State<AppState>,
    MaybeUser(caller): MaybeUser,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<SuperChatPage>, ApiError> {
    let id = params::path(path)?;
    let access = StreamAccess::load(&state.pool, &id, caller).await?;
    access.require(Permission::ReadSuperChats)?;
    let query = params::query(query)?;
    let limit = crate::extract::page_size(query.limit, params::DEFAULT_PAGE)?;
    let pinned = query.pinned.unwrap_or(false);
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
    let audience = Audience::of(&access);
    // One row more than the page tells whether another page follows.
    let fetch = i64::from(limit) + 1;
    let mut rows = match (pinned, after) {
        (false, None) => {
            db::list_newest(
                &state.pool,
                access.stream_id,
                audience.is_staff(),
                None,
                fetch,
            )
            .await
        }
        (false, Some(Cursor::Newest { created_at, id })) => {
            db::list_newest(
                &state.pool,
                access.stream_id,
                audience.is_staff(),
                Some((created_at, id)),
                fetch,
            )
            .await
        }
        (true, None) => db::list_pinned(&state.pool, access.stream_id, None, fetch).await,
        (
            true,
            Some(Cursor::Pinned {
                tier,
                created_at,
                id,
            }),
        ) => {
            db::list_pinned(
                &state.pool,
                access.stream_id,
                Some((tier, created_at, id)),
                fetch,
            )
            .await
        }
        (_, Some(_)) => {
            return Err(ApiError::BadRequest(format!(
                "this cursor is from the {} list: keep `pinned` as it was when you got the cursor",
                if pinned { "full" } else { "pinned" }
            )));
        }
    }
    .map_err(|error| ApiError::from_db("listing super chats", error))?;
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next_cursor = more
        .then(|| {
            rows.last().map(|row| {
                if pinned {
                    row.pinned_cursor().encode()
                } else {
                    row.newest_cursor().encode()
                }
            })
        })
        .flatten();
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
        .map_err(|error| ApiError::from_db("loading a super chat", error))?
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
        .map_err(|error| ApiError::from_db("summing super chats", error))?;
    Ok(Json(SuperChatTotals {
        items: rows.into_iter().map(Into::into).collect(),
    }))
}
