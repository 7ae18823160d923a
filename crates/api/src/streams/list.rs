//! `GET /api/v1/streams`: your streams, someone's public streams, or the
//! public directory ("live now" with `status=live`).

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use serde::Deserialize;
use uuid::Uuid;

use super::db::{self, ListScope};
use super::view::{Audience, StreamPage, StreamView};
use crate::access::StreamStatus;
use crate::auth::MaybeUser;
use crate::error::{ApiError, DbResultExt};
use crate::paging::{self, ListTag, PageParams};
use crate::state::AppState;

/// Which streams: `limit` and `cursor` are the [`PageParams`].
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListFilters {
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
    params(PageParams, ListFilters),
    responses((status = 200, description = "A page of streams", body = StreamPage)))]
pub(crate) async fn list_streams(
    State(state): State<AppState>,
    MaybeUser(caller): MaybeUser,
    page: Result<Query<PageParams>, QueryRejection>,
    filters: Result<Query<ListFilters>, QueryRejection>,
) -> Result<Json<StreamPage>, ApiError> {
    let filters = crate::extract::query(filters)?;
    let scope = scope(filters.owner.as_deref(), caller)?;
    let page = crate::extract::query(page)?
        .parse(list_tag(scope, filters.status), paging::DEFAULT_LIMIT)?;
    let rows = db::list_streams(&state.pool, scope, filters.status, page.after, page.fetch())
        .await
        .db_err("listing streams")?;
    let (rows, next_cursor) = page.page(rows, |row| (row.created_at, row.id));
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

/// The filters as they select rows: `owner=me` and your own id are one list.
fn list_tag(scope: ListScope, status: Option<StreamStatus>) -> ListTag {
    let owner = match scope {
        ListScope::Own(user) => format!("own:{user}"),
        ListScope::PublicOf(user) => format!("public:{user}"),
        ListScope::Public => "public".to_owned(),
    };
    let status = status.map_or("any", StreamStatus::as_str);
    ListTag::of(&format!("streams:owner={owner};status={status}"))
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
            list_tag(ListScope::Own(me), live),
            list_tag(scope(Some(&me.to_string()), Some(me)).unwrap(), live)
        );
        assert_ne!(
            list_tag(ListScope::Own(me), live),
            list_tag(ListScope::Own(me), None)
        );
        assert_ne!(
            list_tag(ListScope::Own(me), None),
            list_tag(ListScope::PublicOf(me), None)
        );
        assert_ne!(
            list_tag(ListScope::Public, None),
            list_tag(ListScope::Public, Some(StreamStatus::Ended))
        );
    }
}
