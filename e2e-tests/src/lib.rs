//! End-to-end tests for the auth server and the resource server: a fixture
//! that runs the real binaries as separate processes, and small readers for
//! what they send back (JWT parts, `WWW-Authenticate` challenges). The
//! `demo` binary narrates the same lifecycle for a learner.

pub mod challenge;
pub mod fixture;
pub mod jwt;
