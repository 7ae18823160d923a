//! Paging of every list route: `?limit=&cursor=` in, `items` and
//! `next_cursor` out, fetching one row more than the page to tell whether
//! another page follows.

mod cursor;

pub(crate) use cursor::{CursorKey, ListTag, TimeKey};

use serde::Deserialize;

use crate::error::ApiError;

/// The page size when the client asks for none.
pub(crate) const DEFAULT_LIMIT: u32 = 20;
/// The largest page any list serves.
pub(crate) const MAX_LIMIT: u32 = 100;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct PageParams {
    /// Page size, 1 to 100 (default 20; 50 for chat messages and bans).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// `next_cursor` of the previous page of the same list (the same path
    /// and filters).
    cursor: Option<String>,
}

/// A page request that passed validation.
#[derive(Debug)]
pub(crate) struct PageRequest<K> {
    list: ListTag,
    pub limit: u32,
    /// Where the page starts: after this key.
    pub after: Option<K>,
}

impl PageParams {
    /// `list` names the list (and its filters) a cursor must have come from.
    pub fn parse<K: CursorKey>(
        &self,
        list: ListTag,
        default_limit: u32,
    ) -> Result<PageRequest<K>, ApiError> {
        let limit = self.limit.unwrap_or(default_limit);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::BadRequest(format!(
                "limit must be between 1 and {MAX_LIMIT} (it was {limit})"
            )));
        }
        let after = match self.cursor.as_deref() {
            None | Some("") => None,
            Some(text) => Some(cursor::decode(list, text).map_err(|error| {
                ApiError::BadRequest(
                    match error {
                        cursor::CursorError::Malformed => {
                            "cursor is not one this API issued: pass `next_cursor` from the \
                             previous page unchanged"
                        }
                        cursor::CursorError::OtherList => {
                            "cursor belongs to another list or to one with other filters: \
                             repeat the path and filters of the request that returned it, or \
                             start again without a cursor"
                        }
                    }
                    .to_owned(),
                )
            })?),
        };
        Ok(PageRequest { list, limit, after })
    }
}

impl<K: CursorKey> PageRequest<K> {
    /// Rows to fetch: one more than the page tells whether another follows.
    pub fn fetch(&self) -> i64 {
        i64::from(self.limit) + 1
    }

    /// The page, and the cursor of the next one if there is one: it starts
    /// after the page's last row, whose sort key `key` reads.
    pub fn page<T>(&self, mut rows: Vec<T>, key: impl Fn(&T) -> K) -> (Vec<T>, Option<String>) {
        let more = rows.len() > self.limit as usize;
        rows.truncate(self.limit as usize);
        let next = if more {
            rows.last().map(|row| cursor::encode(self.list, &key(row)))
        } else {
            None
        };
        (rows, next)
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    fn params(limit: Option<u32>, cursor: Option<&str>) -> PageParams {
        PageParams {
            limit,
            cursor: cursor.map(str::to_owned),
        }
    }

    #[test]
    fn a_page_names_the_next_one_only_when_there_is_one() {
        let list = ListTag::of("test");
        let request = params(Some(2), None).parse::<i64>(list, 20).unwrap();
        assert_eq!(request.fetch(), 3);
        let (rows, next) = request.page(vec![9, 8, 7], |row| *row);
        assert_eq!(rows, [9, 8]);
        let next = next.unwrap();
        let following = params(Some(2), Some(&next)).parse::<i64>(list, 20).unwrap();
        assert_eq!(following.after, Some(8));
        let (rows, next) = following.page(vec![7], |row| *row);
        assert_eq!((rows, next), (vec![7], None));
    }

    #[test]
    fn limits_and_cursors_are_checked() {
        let list = ListTag::of("test");
        assert_eq!(
            params(None, Some("")).parse::<i64>(list, 50).unwrap().limit,
            50
        );
        for limit in [0, MAX_LIMIT + 1] {
            assert!(params(Some(limit), None).parse::<i64>(list, 20).is_err());
        }
        let other = params(None, None)
            .parse::<TimeKey>(ListTag::of("other"), 20)
            .unwrap()
            .page(vec![(chrono::Utc::now(), Uuid::new_v4()); 21], |row| *row)
            .1
            .unwrap();
        match params(None, Some(&other)).parse::<TimeKey>(list, 20) {
            Err(ApiError::BadRequest(detail)) => assert!(detail.contains("other filters")),
            other => panic!("{other:?}"),
        }
        match params(None, Some("nonsense")).parse::<TimeKey>(list, 20) {
            Err(ApiError::BadRequest(detail)) => assert!(detail.contains("not one this API")),
            other => panic!("{other:?}"),
        }
    }
}
