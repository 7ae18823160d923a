//! The recordings catalog against a real database (a fresh one per test,
//! migrated by `nova_schema::MIGRATOR`) and a real filesystem store.
//! Recordings are written with the catalog's own index functions, as the
//! recorder writes them.

mod reconcile;
mod retention;
mod support;
