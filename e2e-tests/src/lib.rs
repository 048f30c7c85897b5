//! End-to-end tests for the auth server and the resource server: a fixture
//! that runs the real binaries as separate processes, and small readers for
//! what they send back (JWT parts, `WWW-Authenticate` challenges), and a
//! headless Chromium for the pages they serve (`browser`). The `demo`
//! binary narrates the same lifecycle for a learner.
//!
//! `cargo test -p e2e-tests` first runs `cargo build -p auth-server -p
//! resource-server` (once per test binary), so the servers under test are
//! never stale. `E2E_NO_BUILD=1` skips that and uses the binaries already in
//! `target/<profile>/`. `cargo run --bin demo` builds them the same way.
//!
//! With `TEST_DATABASE_URL=postgres://...` set, the stories also run on
//! PostgreSQL, each in a database of its own that the fixture creates and
//! drops ([`fixture::Database::postgres_fresh`]); several auth-server
//! instances over one database are tested in `tests/instances.rs`, and
//! `docker-compose.yml` as written in `tests/compose_config.rs`.

pub mod browser;
pub mod challenge;
pub mod fixture;
pub mod jwt;
