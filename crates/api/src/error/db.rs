//! Database errors as clients see them: a broken rule they can fix (by
//! constraint name, see [`super::constraints`]), a database that is away
//! for a moment (503, retry), or a fault of ours (500, logged).

use super::ApiError;
use super::constraints::{self, Side};

impl ApiError {
    /// A failed statement that writes or reads rows: a foreign key it
    /// breaks means the row it points to (the stream, mostly) is gone.
    pub fn from_db(context: &'static str, error: sqlx::Error) -> Self {
        Self::from_db_on(Side::Referencing, context, error)
    }

    fn from_db_on(side: Side, context: &'static str, error: sqlx::Error) -> Self {
        if let Some(db) = error.as_database_error()
            && let Some(mapped) = db
                .constraint()
                .and_then(|name| constraints::client_error(name, side))
        {
            return mapped;
        }
        if database_unreachable(&error) {
            return Self::DatabaseUnavailable {
                context,
                source: error,
            };
        }
        Self::internal(context, error)
    }
}

/// `.db_err("doing what")` on a query's result, instead of spelling out
/// the `map_err` at every query.
pub(crate) trait DbResultExt<T> {
    /// See [`ApiError::from_db`]; `context` says what was being done, for
    /// the log.
    fn db_err(self, context: &'static str) -> Result<T, ApiError>;

    /// For a DELETE of rows others point to: a foreign key it breaks means
    /// rows that must be kept still point to it (409).
    fn db_err_deleting(self, context: &'static str) -> Result<T, ApiError>;
}

impl<T> DbResultExt<T> for Result<T, sqlx::Error> {
    fn db_err(self, context: &'static str) -> Result<T, ApiError> {
        self.map_err(|error| ApiError::from_db_on(Side::Referencing, context, error))
    }

    fn db_err_deleting(self, context: &'static str) -> Result<T, ApiError> {
        self.map_err(|error| ApiError::from_db_on(Side::Referenced, context, error))
    }
}

/// Errors that mean "no database to talk to" rather than "this query failed".
fn database_unreachable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            // SQLSTATE class 08: connection exceptions; 57P01–57P03: the server
            // is shutting down or starting; 53300: too many connections;
            // 55000 is what a database that refuses connections answers.
            code.starts_with("08")
                || matches!(
                    code.as_ref(),
                    "57P01" | "57P02" | "57P03" | "53300" | "55000"
                )
        }),
        _ => false,
    }
}
