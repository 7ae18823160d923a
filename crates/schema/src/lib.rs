//! The database schema of nova-live: the SQL files in `migrations/` at the
//! repository root, embedded at compile time. Its own crate so that every
//! crate that needs the database (the API, the recordings catalog, the
//! server, their tests) depends on the schema, not on one another.

/// The schema every nova-live process needs, applied at startup (and to each
/// test database by `#[sqlx::test(migrator = "nova_schema::MIGRATOR")]`).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");
