//! `GET /api/v1/streams`: your streams, someone's public streams, or the
//! public directory ("live now" with `status=live`).

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use serde::Deserialize;
use uuid::Uuid;

use super::cursor::{Cursor, QueryTag};
use super::db::{self, ListScope, StreamStatus};
use super::view::{Audience, StreamPage, StreamView};
use crate::auth::MaybeUser;
use crate::error::ApiError;
use crate::state::AppState;

const DEFAULT_PAGE: u32 = 20;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListParams {
    /// Page size, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// `next_cursor` of the previous page, with the same filters.
    cursor: Option<String>,
    /// Only streams in this status: `live` lists what is on air now.
    status: Option<StreamStatus>,
    /// `me` (the default; needs a token): all your streams. A user id:
    /// that user's public streams (all of them if it is you). `any`: every
    /// user's public streams, with or without a token.
    #[param(value_type = Option<String>,
        pattern = "^(me|any|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$")]
    owner: Option<String>,
}

/// Streams, newest first. Unlisted and private streams are only ever
/// listed to their owner.
#[utoipa::path(get, path = "/api/v1/streams", tag = "streams",
    security((), ("bearer" = [])),
    params(ListParams),
    responses((status = 200, description = "A page of streams", body = StreamPage)))]
pub(crate) async fn list_streams(
    State(state): State<AppState>,
    MaybeUser(caller): MaybeUser,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<StreamPage>, ApiError> {
    let params = crate::extract::query(params)?;
    let limit = crate::extract::page_size(params.limit, DEFAULT_PAGE)?;
    let scope = scope(params.owner.as_deref(), caller)?;
    let query = query_tag(scope, params.status);
    let after = match params.cursor.as_deref() {
        None | Some("") => None,
        Some(text) => {
            let cursor = Cursor::decode(text).ok_or_else(|| {
                ApiError::BadRequest(
                    "cursor is not one this API issued: pass `next_cursor` from the previous page unchanged"
                        .to_owned(),
                )
            })?;
            if cursor.query != query {
                return Err(ApiError::BadRequest(
                    "cursor belongs to a list with other filters: repeat the `owner` and `status` \
                     of the request that returned it, or start again without a cursor"
                        .to_owned(),
                ));
            }
            Some(cursor)
        }
    };
    // One row more than the page tells whether another page follows.
    let mut rows = db::list_streams(
        &state.pool,
        scope,
        params.status,
        after,
        i64::from(limit) + 1,
    )
    .await
    .map_err(|error| ApiError::from_db("listing streams", error))?;
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next_cursor = more.then(|| rows.last()).flatten().map(|row| {
        Cursor {
            created_at: row.created_at,
            id: row.id,
            query,
        }
        .encode()
    });
    let items = rows
        .into_iter()
        .map(|row| {
            let audience = Audience::in_list(caller, row.owner_id);
            StreamView::new(row, &state, audience)
        })
        .collect();
    Ok(Json(StreamPage { items, next_cursor }))
}

fn scope(owner: Option<&str>, caller: Option<Uuid>) -> Result<ListScope, ApiError> {
    match owner {
        None | Some("me") => caller.map(ListScope::Own).ok_or(ApiError::MissingToken),
        Some("any") => Ok(ListScope::Public),
        Some(id) => match Uuid::parse_str(id) {
            Ok(owner) if Some(owner) == caller => Ok(ListScope::Own(owner)),
            Ok(owner) => Ok(ListScope::PublicOf(owner)),
            Err(_) => Err(ApiError::BadRequest(format!(
                "owner must be `me`, `any` or a user id (a UUID), not {id:?}"
            ))),
        },
    }
}

/// The filters as they select rows: `owner=me` and your own id are one query.
fn query_tag(scope: ListScope, status: Option<StreamStatus>) -> QueryTag {
    let owner = match scope {
        ListScope::Own(user) => format!("own:{user}"),
        ListScope::PublicOf(user) => format!("public:{user}"),
        ListScope::Public => "public".to_owned(),
    };
    let status = status.map_or("any", StreamStatus::as_str);
    QueryTag::of(&format!("owner={owner};status={status}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_resolves_against_the_caller() {
        let me = Uuid::new_v4();
        let other = Uuid::new_v4();
        assert_eq!(scope(None, Some(me)).unwrap(), ListScope::Own(me));
        assert_eq!(scope(Some("me"), Some(me)).unwrap(), ListScope::Own(me));
        assert_eq!(
            scope(Some(&me.to_string()), Some(me)).unwrap(),
            ListScope::Own(me)
        );
        assert_eq!(
            scope(Some(&other.to_string()), Some(me)).unwrap(),
            ListScope::PublicOf(other)
        );
        assert_eq!(
            scope(Some(&other.to_string()), None).unwrap(),
            ListScope::PublicOf(other)
        );
        assert_eq!(scope(Some("any"), None).unwrap(), ListScope::Public);
        assert!(matches!(scope(None, None), Err(ApiError::MissingToken)));
        assert!(matches!(
            scope(Some("me"), None),
            Err(ApiError::MissingToken)
        ));
        assert!(matches!(
            scope(Some("someone"), Some(me)),
            Err(ApiError::BadRequest(_))
        ));
    }

    #[test]
    fn the_same_rows_are_the_same_query() {
        let me = Uuid::new_v4();
        let live = Some(StreamStatus::Live);
        assert_eq!(
            query_tag(ListScope::Own(me), live),
            query_tag(scope(Some(&me.to_string()), Some(me)).unwrap(), live)
        );
        assert_ne!(
            query_tag(ListScope::Own(me), live),
            query_tag(ListScope::Own(me), None)
        );
        assert_ne!(
            query_tag(ListScope::Own(me), None),
            query_tag(ListScope::PublicOf(me), None)
        );
        assert_ne!(
            query_tag(ListScope::Public, None),
            query_tag(ListScope::Public, Some(StreamStatus::Ended))
        );
    }
}
