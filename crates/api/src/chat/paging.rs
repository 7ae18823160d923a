//! `limit` and `cursor` of the chat lists.

use serde::Deserialize;

use crate::error::ApiError;

const DEFAULT_LIMIT: u32 = 50;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct PageParams {
    /// Page size, 1 to 100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// A page request that passed validation.
pub(crate) struct PageRequest<C> {
    pub limit: u32,
    pub after: Option<C>,
}

impl PageParams {
    pub fn parse<C>(self, decode: fn(&str) -> Option<C>) -> Result<PageRequest<C>, ApiError> {
        let limit = crate::extract::page_size(self.limit, DEFAULT_LIMIT)?;
        let after = match self.cursor.as_deref() {
            None | Some("") => None,
            Some(text) => Some(decode(text).ok_or_else(|| {
                ApiError::BadRequest(
                    "cursor is not one this list issued: pass `next_cursor` from the previous page unchanged"
                        .to_owned(),
                )
            })?),
        };
        Ok(PageRequest { limit, after })
    }
}

impl<C> PageRequest<C> {
    /// Rows to fetch: one more than the page tells whether another follows.
    pub fn fetch(&self) -> i64 {
        i64::from(self.limit) + 1
    }

    /// The page, and the cursor of the next one if there is one.
    pub fn page<T>(
        &self,
        mut rows: Vec<T>,
        cursor: impl Fn(&T) -> String,
    ) -> (Vec<T>, Option<String>) {
        let more = rows.len() > self.limit as usize;
        rows.truncate(self.limit as usize);
        let next = if more { rows.last().map(cursor) } else { None };
        (rows, next)
    }
}
