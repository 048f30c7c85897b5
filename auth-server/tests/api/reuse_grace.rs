//! The reuse grace window: only the immediate predecessor, only within the
//! window, only a bounded number of times; anything else is reuse. Race
//! safe across connections. Off by default.

use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use auth_server::storage::refresh_tokens::{
    self, FamilyRow, ReuseGrace, Rotation, RotationOutcome,
};
use auth_server::storage::{DbConnection, schema};
use diesel::prelude::*;

use crate::helpers::{Options, PASSWORD, TestApp, TestDb, add_client, add_user, on_both_backends};
use crate::oauth_helpers::{text, tokens};

const T0: i64 = 1_700_000_000;
const DAY: i64 = 86_400;
const GRACE: ReuseGrace = ReuseGrace {
    window_secs: 10,
    max_replays: 2,
};

on_both_backends!(
    the_immediate_predecessor_may_be_replayed_within_the_window,
    a_replay_after_the_window_is_reuse,
    replays_beyond_the_bound_are_reuse,
    an_older_token_is_reuse_even_within_the_window,
    the_superseded_successor_presented_later_is_reuse,
    concurrent_replays_leave_at_most_one_live_token,
);

fn seed(conn: &mut DbConnection) -> FamilyRow {
    let user = add_user(conn, "alice");
    add_client(conn, "app", "password refresh_token", "notes:read", false);
    let family = FamilyRow {
        id: uuid::Uuid::new_v4().to_string(),
        user_id: Some(user),
        client_id: "app".into(),
        scope: "notes:read".into(),
        audience: "resource-server".into(),
        created_at: T0,
        absolute_expires_at: T0 + 14 * DAY,
        revoked_at: None,
        revoked_reason: None,
    };
    refresh_tokens::start_family(conn, &family, "t0", 7 * DAY).unwrap();
    family
}

fn rotate(
    conn: &mut DbConnection,
    presented: &str,
    successor: &str,
    now: i64,
) -> RotationOutcome<()> {
    let rotation = Rotation {
        presented_hash: presented,
        successor_hash: successor,
        client_id: "app",
        now,
        idle_ttl: 7 * DAY,
        grace: GRACE,
    };
    refresh_tokens::rotate(conn, rotation, |_| Ok(())).unwrap()
}

fn forgiven(outcome: &RotationOutcome<()>) -> bool {
    matches!(
        outcome,
        RotationOutcome::Rotated {
            grace_replay: true,
            ..
        }
    )
}

fn rotated(outcome: &RotationOutcome<()>) -> bool {
    matches!(
        outcome,
        RotationOutcome::Rotated {
            grace_replay: false,
            ..
        }
    )
}

/// Hashes of the family's live tokens (unused, unrevoked).
fn live_tokens(conn: &mut DbConnection, family_id: &str) -> Vec<String> {
    use schema::refresh_tokens as rt;
    rt::table
        .filter(rt::family_id.eq(family_id))
        .filter(rt::used_at.is_null())
        .filter(rt::revoked_at.is_null())
        .select(rt::token_hash)
        .load(conn)
        .unwrap()
}

fn is_revoked(conn: &mut DbConnection, family_id: &str) -> bool {
    refresh_tokens::find_family(conn, family_id)
        .unwrap()
        .unwrap()
        .revoked_at
        .is_some()
}

fn the_immediate_predecessor_may_be_replayed_within_the_window(db: &TestDb) {
    let mut conn = db.connection();
    let family = seed(&mut conn);
    // Given t0 -> t1 whose response was lost...
    assert!(rotated(&rotate(&mut conn, "t0", "t1", T0 + 100)));
    // ...a replay of t0 within the window gets t1b in the same family...
    assert!(forgiven(&rotate(&mut conn, "t0", "t1b", T0 + 110)));
    // ...and t1b is the family's only live token, which refreshes normally.
    assert_eq!(live_tokens(&mut conn, &family.id), vec!["t1b".to_owned()]);
    assert!(rotated(&rotate(&mut conn, "t1b", "t2", T0 + 120)));
    assert!(!is_revoked(&mut conn, &family.id));
}

fn a_replay_after_the_window_is_reuse(db: &TestDb) {
    let mut conn = db.connection();
    let family = seed(&mut conn);
    assert!(rotated(&rotate(&mut conn, "t0", "t1", T0 + 100)));
    assert!(matches!(
        rotate(&mut conn, "t0", "x", T0 + 111),
        RotationOutcome::Reused { .. }
    ));
    assert!(is_revoked(&mut conn, &family.id));
}

fn replays_beyond_the_bound_are_reuse(db: &TestDb) {
    let mut conn = db.connection();
    let family = seed(&mut conn);
    assert!(rotated(&rotate(&mut conn, "t0", "t1", T0 + 100)));
    assert!(forgiven(&rotate(&mut conn, "t0", "t1b", T0 + 101)));
    assert!(forgiven(&rotate(&mut conn, "t0", "t1c", T0 + 102)));
    assert!(matches!(
        rotate(&mut conn, "t0", "t1d", T0 + 103),
        RotationOutcome::Reused { .. }
    ));
    assert!(is_revoked(&mut conn, &family.id));
}

fn an_older_token_is_reuse_even_within_the_window(db: &TestDb) {
    let mut conn = db.connection();
    let family = seed(&mut conn);
    assert!(rotated(&rotate(&mut conn, "t0", "t1", T0 + 100)));
    assert!(rotated(&rotate(&mut conn, "t1", "t2", T0 + 101)));
    // t0 is the grandparent of the live token t2.
    assert!(matches!(
        rotate(&mut conn, "t0", "x", T0 + 102),
        RotationOutcome::Reused { .. }
    ));
    assert!(is_revoked(&mut conn, &family.id));
}

fn the_superseded_successor_presented_later_is_reuse(db: &TestDb) {
    let mut conn = db.connection();
    let family = seed(&mut conn);
    assert!(rotated(&rotate(&mut conn, "t0", "t1", T0 + 100)));
    // Someone replays t0 within the window and gets t1b...
    assert!(forgiven(&rotate(&mut conn, "t0", "t1b", T0 + 101)));
    // ...so when t1 turns up later (two parties hold this family), the
    // family is revoked: theft is still detected, one step later.
    assert!(matches!(
        rotate(&mut conn, "t1", "t2", T0 + 200),
        RotationOutcome::Reused { .. }
    ));
    assert!(is_revoked(&mut conn, &family.id));
}

fn concurrent_replays_leave_at_most_one_live_token(db: &TestDb) {
    let family = seed(&mut db.connection());
    assert!(rotated(&rotate(&mut db.connection(), "t0", "t1", T0 + 100)));
    // Eight connections (as if eight instances) replay t0 at once.
    let start = Arc::new(Barrier::new(8));
    let outcomes: Vec<RotationOutcome<()>> = (0..8)
        .map(|i| {
            let mut conn = db.connection();
            let start = start.clone();
            thread::spawn(move || {
                start.wait();
                rotate(&mut conn, "t0", &format!("r{i}"), T0 + 101)
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().unwrap())
        .collect();
    let forgiven_count = outcomes.iter().filter(|o| forgiven(o)).count();
    assert!(
        (1..=2).contains(&forgiven_count),
        "at most the bound: {outcomes:?}"
    );
    let mut conn = db.connection();
    let live = live_tokens(&mut conn, &family.id);
    assert!(live.len() <= 1, "never two live tokens: {live:?}");
    // Eight attempts exceed the bound of two: the rest were reuse.
    assert!(is_revoked(&mut conn, &family.id));
}

#[actix_web::test]
async fn over_http_a_lost_refresh_response_can_be_retried_within_the_window() {
    let app = TestApp::spawn_with(
        TestDb::sqlite(),
        Options {
            serve: |c| c.refresh_reuse_grace = Duration::from_secs(60),
            ..Options::default()
        },
    )
    .await;
    let login = tokens(app.login("alice", PASSWORD).await).await;
    let r1 = text(&login, "refresh_token");
    // The response carrying r2 is lost...
    let lost = tokens(app.refresh(r1).await).await;
    // ...so the client retries with r1, and gets a working pair.
    let retried = tokens(app.refresh(r1).await).await;
    let r3 = text(&retried, "refresh_token");
    assert_ne!(r3, text(&lost, "refresh_token"));
    tokens(app.refresh(r3).await).await;
}

#[actix_web::test]
async fn the_grace_window_is_off_by_default() {
    let app = TestApp::spawn().await;
    let login = tokens(app.login("alice", PASSWORD).await).await;
    let r1 = text(&login, "refresh_token");
    tokens(app.refresh(r1).await).await;
    let response = app.refresh(r1).await;
    assert_eq!(response.status(), 400);
}
