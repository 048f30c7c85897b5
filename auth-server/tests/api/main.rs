//! Integration tests: the storage layer on SQLite (and PostgreSQL when
//! `TEST_DATABASE_URL` is set), and the HTTP API of a real server started in
//! process on a free port. One test binary, so one link step.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

mod helpers;

mod discovery;
mod health;
mod registration;
mod storage;
mod token_endpoint;
mod token_lifecycle;
