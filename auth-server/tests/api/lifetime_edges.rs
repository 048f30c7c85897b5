//! Refresh-token lifetimes at their exact edges, with the clock injected:
//! the storage layer takes `now` as an argument (the server passes
//! `clock::now()`), so each edge is tested at its last good second and its
//! first bad one. A token is refreshable while `now < expires_at`, and its
//! `expires_at` is `issued_at + idle`, never past the family's absolute
//! expiry.

use auth_server::storage::DbConnection;
use auth_server::storage::refresh_tokens::{
    self, FamilyRow, ReuseGrace, Rotation, RotationOutcome,
};

use crate::helpers::{TestDb, add_client, add_user, on_both_backends};

const T0: i64 = 1_700_000_000;
const DAY: i64 = 86_400;

on_both_backends!(
    the_idle_lifetime_ends_exactly_idle_seconds_after_issue,
    the_absolute_lifetime_ends_exactly_at_the_familys_expiry,
    a_successor_near_the_end_inherits_the_familys_expiry,
);

/// A fresh family whose first token (`t0`) was issued at `T0`.
fn family(conn: &mut DbConnection, absolute_ttl: i64, idle_ttl: i64) {
    let user = add_user(conn, "alice");
    add_client(conn, "app", "password refresh_token", "notes:read", false);
    let family = FamilyRow {
        id: uuid::Uuid::new_v4().to_string(),
        user_id: Some(user),
        client_id: "app".into(),
        scope: "notes:read".into(),
        audience: "resource-server".into(),
        created_at: T0,
        absolute_expires_at: T0 + absolute_ttl,
        revoked_at: None,
        revoked_reason: None,
    };
    refresh_tokens::start_family(conn, &family, "t0", idle_ttl).unwrap();
}

/// Presents `presented` at `now` with the idle lifetime `idle_ttl`.
fn rotate(
    conn: &mut DbConnection,
    presented: &str,
    successor: &str,
    now: i64,
    idle_ttl: i64,
) -> RotationOutcome<()> {
    let rotation = Rotation {
        presented_hash: presented,
        successor_hash: successor,
        client_id: "app",
        now,
        idle_ttl,
        grace: ReuseGrace::OFF,
    };
    refresh_tokens::rotate(conn, rotation, |_| Ok(())).unwrap()
}

/// Like [`rotate`]: the successor's expiry if it rotated, else `None`.
fn refresh(
    conn: &mut DbConnection,
    presented: &str,
    successor: &str,
    now: i64,
    idle_ttl: i64,
) -> Option<i64> {
    match rotate(conn, presented, successor, now, idle_ttl) {
        RotationOutcome::Rotated {
            successor_expires_at,
            ..
        } => Some(successor_expires_at),
        _ => None,
    }
}

fn the_idle_lifetime_ends_exactly_idle_seconds_after_issue(db: &TestDb) {
    let mut conn = db.connection();
    family(&mut conn, 14 * DAY, 10);
    // t0 was issued at T0 with 10 s idle: good through T0 + 9.
    assert_eq!(refresh(&mut conn, "t0", "t1", T0 + 9, 10), Some(T0 + 19));
    // t1, issued at T0 + 9: good through T0 + 18, dead at T0 + 19.
    assert_eq!(
        rotate(&mut conn, "t1", "x", T0 + 19, 10),
        RotationOutcome::Expired
    );
    assert_eq!(refresh(&mut conn, "t1", "t2", T0 + 18, 10), Some(T0 + 28));
}

fn the_absolute_lifetime_ends_exactly_at_the_familys_expiry(db: &TestDb) {
    let mut conn = db.connection();
    family(&mut conn, 100, 7 * DAY);
    // The first token's idle expiry is capped at the family's: T0 + 100.
    assert_eq!(
        rotate(&mut conn, "t0", "x", T0 + 100, 7 * DAY),
        RotationOutcome::Expired
    );
    assert_eq!(
        refresh(&mut conn, "t0", "t1", T0 + 99, 7 * DAY),
        Some(T0 + 100)
    );
    assert_eq!(
        rotate(&mut conn, "t1", "t2", T0 + 100, 7 * DAY),
        RotationOutcome::Expired
    );
}

fn a_successor_near_the_end_inherits_the_familys_expiry(db: &TestDb) {
    let mut conn = db.connection();
    family(&mut conn, 100, 50);
    // Far from the end a successor gets the full idle window...
    assert_eq!(refresh(&mut conn, "t0", "t1", T0 + 45, 50), Some(T0 + 95));
    // ...near it, the window is cut to the family's expiry, T0 + 100,
    assert_eq!(refresh(&mut conn, "t1", "t2", T0 + 94, 50), Some(T0 + 100));
    assert_eq!(refresh(&mut conn, "t2", "t3", T0 + 99, 50), Some(T0 + 100));
    // and not a second past it.
    assert_eq!(
        rotate(&mut conn, "t3", "x", T0 + 100, 50),
        RotationOutcome::Expired
    );
}
