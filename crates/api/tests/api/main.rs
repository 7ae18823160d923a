//! Integration tests of nova-api: the router driven with `oneshot`, over a
//! fresh PostgreSQL database per test (`#[sqlx::test]`, which needs
//! `DATABASE_URL` pointing at a server it may create databases on).
//!
//! One test binary with modules, not a binary per file: each links the
//! whole stack, and linking dominates the build on small machines.

mod auth;
mod chat;
mod events;
mod health;
mod hosts;
mod log_capture;
mod openapi;
mod playback;
mod publish_authorizer;
mod recordings;
mod schema;
mod stream_status;
mod streams;
mod super_chats;
mod support;
mod viewers;
mod webhook_destinations;
mod webhooks;
