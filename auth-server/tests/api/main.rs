//! Integration tests: the storage layer on SQLite (and PostgreSQL when
//! `TEST_DATABASE_URL` is set), and the HTTP API of a real server started in
//! process on a free port. One test binary, so one link step.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

mod helpers;
mod oauth_helpers;
mod proxy;

mod authorization_code;
mod client_rules;
mod discovery;
mod health;
mod hostile_input;
mod introspection;
mod key_rotation;
mod lifetime_edges;
mod openapi;
mod operations;
mod playground;
mod registration;
mod reuse_grace;
mod revocation;
mod sessions;
mod shutdown;
mod storage;
mod throttling;
mod token_endpoint;
mod token_lifecycle;
mod writes;
