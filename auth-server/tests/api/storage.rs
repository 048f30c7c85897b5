//! The storage layer, on both backends: refresh-token rotation happens
//! exactly once, reuse revokes the family, lifetimes hold, and concurrent
//! instances agree on one signing key.

use std::sync::{Arc, Barrier};
use std::thread;

use auth_server::domain::SigningAlg;
use auth_server::keys::{self, KeyState};
use auth_server::storage::refresh_tokens::{
    self, FamilyRow, ReuseGrace, Rotation, RotationOutcome,
};
use auth_server::storage::{DbConnection, StorageError, signing_keys, users};

use crate::helpers::{TestDb, add_client, add_user, on_both_backends};

const T0: i64 = 1_700_000_000;
const DAY: i64 = 86_400;

on_both_backends!(
    rotation_happens_exactly_once_under_concurrency,
    reuse_revokes_the_whole_family,
    the_absolute_lifetime_caps_the_family,
    an_idle_token_expires,
    another_client_can_neither_use_nor_burn_a_token,
    a_refused_admission_leaves_the_token_unused,
    a_disabled_user_cannot_refresh,
    concurrent_instances_create_exactly_one_signing_key,
    rotation_adds_a_signing_key_and_keeps_the_old_one_published,
    usernames_are_unique,
);

/// A family for `alice` on client `app`, with its first token `t0`.
fn seed_family(conn: &mut DbConnection, absolute_ttl: i64, idle_ttl: i64) -> FamilyRow {
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
    family
}

fn rotate(
    conn: &mut DbConnection,
    presented: &str,
    successor: &str,
    now: i64,
    idle: i64,
) -> RotationOutcome<()> {
    let rotation = Rotation {
        presented_hash: presented,
        successor_hash: successor,
        client_id: "app",
        now,
        idle_ttl: idle,
        grace: ReuseGrace::OFF,
    };
    refresh_tokens::rotate(conn, rotation, |_| Ok(())).unwrap()
}

fn is_rotated<R>(outcome: &RotationOutcome<R>) -> bool {
    matches!(outcome, RotationOutcome::Rotated { .. })
}

fn rotation_happens_exactly_once_under_concurrency(db: &TestDb) {
    // Given a token, and 16 separate connections (as if 16 instances)...
    let family = seed_family(&mut db.connection(), 14 * DAY, 7 * DAY);
    let start = Arc::new(Barrier::new(16));
    // ...when all of them rotate it at the same moment...
    let outcomes: Vec<RotationOutcome<()>> = (0..16)
        .map(|i| {
            let mut conn = db.connection();
            let start = start.clone();
            thread::spawn(move || {
                start.wait();
                rotate(&mut conn, "t0", &format!("t1-{i}"), T0 + 60, 7 * DAY)
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().unwrap())
        .collect();

    // ...then exactly one wins; every loser is a replay of a used token, so
    // the family ends up revoked (RFC 9700: reuse is not told apart from a
    // race).
    assert_eq!(
        outcomes.iter().filter(|o| is_rotated(o)).count(),
        1,
        "{outcomes:?}"
    );
    for outcome in outcomes.iter().filter(|o| !is_rotated(o)) {
        assert!(
            matches!(
                outcome,
                RotationOutcome::Reused { .. } | RotationOutcome::Revoked
            ),
            "{outcome:?}"
        );
    }
    let family = refresh_tokens::find_family(&mut db.connection(), &family.id)
        .unwrap()
        .unwrap();
    assert_eq!(
        family.revoked_reason.as_deref(),
        Some(refresh_tokens::REVOKED_FOR_REUSE)
    );
}

fn reuse_revokes_the_whole_family(db: &TestDb) {
    let mut conn = db.connection();
    let family = seed_family(&mut conn, 14 * DAY, 7 * DAY);
    // Given t0 -> t1 -> t2 ...
    assert!(is_rotated(&rotate(&mut conn, "t0", "t1", T0 + 10, 7 * DAY)));
    assert!(is_rotated(&rotate(&mut conn, "t1", "t2", T0 + 20, 7 * DAY)));
    // ... when t0 is replayed ...
    assert_eq!(
        rotate(&mut conn, "t0", "x", T0 + 30, 7 * DAY),
        RotationOutcome::Reused {
            family_id: family.id.clone()
        }
    );
    // ... then the newest token is dead too, and the family records why.
    assert_eq!(
        rotate(&mut conn, "t2", "t3", T0 + 40, 7 * DAY),
        RotationOutcome::Revoked
    );
    let stored = refresh_tokens::find_family(&mut conn, &family.id)
        .unwrap()
        .unwrap();
    assert_eq!(stored.revoked_at, Some(T0 + 30));
    assert_eq!(stored.revoked_reason.as_deref(), Some("reuse"));
    assert!(
        refresh_tokens::find_token(&mut conn, "t3")
            .unwrap()
            .is_none(),
        "no successor was stored"
    );
}

fn the_absolute_lifetime_caps_the_family(db: &TestDb) {
    let mut conn = db.connection();
    seed_family(&mut conn, 100, 7 * DAY);
    let RotationOutcome::Rotated {
        successor_expires_at,
        ..
    } = rotate(&mut conn, "t0", "t1", T0 + 50, 7 * DAY)
    else {
        panic!("rotation within the lifetime must succeed");
    };
    assert_eq!(
        successor_expires_at,
        T0 + 100,
        "idle expiry capped by the family's"
    );
    assert_eq!(
        rotate(&mut conn, "t1", "t2", T0 + 100, 7 * DAY),
        RotationOutcome::Expired
    );
}

fn an_idle_token_expires(db: &TestDb) {
    let mut conn = db.connection();
    seed_family(&mut conn, 14 * DAY, 10);
    assert!(is_rotated(&rotate(&mut conn, "t0", "t1", T0 + 9, 10)));
    // t1 was issued at T0 + 9 with 10 s idle: dead from T0 + 19.
    assert_eq!(
        rotate(&mut conn, "t1", "t2", T0 + 19, 10),
        RotationOutcome::Expired
    );
    // Expiry is not reuse: the family is not revoked, and the token is unused.
    let (t1, family) = refresh_tokens::find_token(&mut conn, "t1")
        .unwrap()
        .unwrap();
    assert!(t1.used_at.is_none() && family.revoked_at.is_none());
}

fn another_client_can_neither_use_nor_burn_a_token(db: &TestDb) {
    let mut conn = db.connection();
    seed_family(&mut conn, 14 * DAY, 7 * DAY);
    add_client(&mut conn, "other", "refresh_token", "notes:read", false);
    let rotation = Rotation {
        presented_hash: "t0",
        successor_hash: "t1",
        client_id: "other",
        now: T0 + 1,
        idle_ttl: 7 * DAY,
        grace: ReuseGrace::OFF,
    };
    let outcome = refresh_tokens::rotate(&mut conn, rotation, |_| Ok::<(), ()>(())).unwrap();
    assert_eq!(outcome, RotationOutcome::WrongClient);
    assert!(
        is_rotated(&rotate(&mut conn, "t0", "t1", T0 + 2, 7 * DAY)),
        "still usable by its owner"
    );
}

fn a_refused_admission_leaves_the_token_unused(db: &TestDb) {
    let mut conn = db.connection();
    seed_family(&mut conn, 14 * DAY, 7 * DAY);
    let rotation = Rotation {
        presented_hash: "t0",
        successor_hash: "t1",
        client_id: "app",
        now: T0 + 1,
        idle_ttl: 7 * DAY,
        grace: ReuseGrace::OFF,
    };
    let outcome = refresh_tokens::rotate(&mut conn, rotation, |family| {
        assert_eq!(family.scope, "notes:read");
        Err("scope too wide")
    })
    .unwrap();
    assert_eq!(outcome, RotationOutcome::Refused("scope too wide"));
    assert!(
        refresh_tokens::find_token(&mut conn, "t1")
            .unwrap()
            .is_none()
    );
    assert!(
        is_rotated(&rotate(&mut conn, "t0", "t1", T0 + 2, 7 * DAY)),
        "rolled back: still unused"
    );
}

fn a_disabled_user_cannot_refresh(db: &TestDb) {
    use auth_server::storage::schema::users as u;
    use diesel::prelude::*;
    let mut conn = db.connection();
    let family = seed_family(&mut conn, 14 * DAY, 7 * DAY);
    diesel::update(u::table.find(family.user_id.clone().unwrap()))
        .set(u::disabled_at.eq(Some(T0)))
        .execute(&mut conn)
        .unwrap();
    assert_eq!(
        rotate(&mut conn, "t0", "t1", T0 + 1, 7 * DAY),
        RotationOutcome::UserDisabled
    );
}

fn concurrent_instances_create_exactly_one_signing_key(db: &TestDb) {
    let start = Arc::new(Barrier::new(8));
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let mut conn = db.connection();
            let start = start.clone();
            thread::spawn(move || {
                start.wait();
                keys::ensure_active_key(&mut conn, T0).unwrap();
                keys::load_key_set(&mut conn, T0)
                    .unwrap()
                    .signing
                    .kid()
                    .to_owned()
            })
        })
        .collect();
    let kids: Vec<String> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let stored = signing_keys::all(&mut db.connection()).unwrap();
    assert_eq!(stored.len(), 1, "exactly one key");
    assert!(
        kids.iter().all(|k| *k == stored[0].kid),
        "every instance signs with it"
    );
}

fn rotation_adds_a_signing_key_and_keeps_the_old_one_published(db: &TestDb) {
    let pool = db.pool();
    let mut conn = pool.get().unwrap();
    keys::ensure_active_key(&mut conn, T0).unwrap();
    let first = keys::load_key_set(&mut conn, T0).unwrap();
    keys::ensure_active_key(&mut conn, T0 + 1).unwrap();
    assert_eq!(
        signing_keys::all(&mut conn).unwrap().len(),
        1,
        "ensure is idempotent"
    );

    let plan = keys::RotatePlan {
        alg: SigningAlg::EdDSA,
        activation_delay: 0,
        retire_after: 3600,
    };
    let new_kid = keys::rotate(&mut conn, T0 + 10, &plan).unwrap().kid;
    let after = keys::load_key_set(&mut conn, T0 + 10).unwrap();
    assert_eq!(after.signing.kid(), new_kid);
    let published: Vec<_> = after
        .jwks
        .keys
        .iter()
        .filter_map(|k| k.kid.clone())
        .collect();
    assert_eq!(
        published,
        vec![new_kid.clone(), first.signing.kid().to_owned()]
    );
    let states: Vec<_> = keys::list(&mut conn, T0 + 10)
        .unwrap()
        .into_iter()
        .map(|k| (k.kid, k.state))
        .collect();
    assert_eq!(
        states,
        vec![
            (first.signing.kid().to_owned(), KeyState::Published),
            (new_kid, KeyState::Active)
        ]
    );
}

fn usernames_are_unique(db: &TestDb) {
    let mut conn = db.connection();
    users::create(&mut conn, "bob", "hash".into(), T0).unwrap();
    assert!(matches!(
        users::create(&mut conn, "bob", "hash".into(), T0),
        Err(StorageError::Conflict)
    ));
    assert_eq!(
        users::find_by_username(&mut conn, "bob")
            .unwrap()
            .unwrap()
            .username,
        "bob"
    );
}

#[test]
fn every_pooled_sqlite_connection_gets_the_pragmas() {
    use diesel::dsl::sql;
    use diesel::prelude::*;
    use diesel::sql_types::{BigInt, Text};

    let db = TestDb::sqlite();
    let pool = db.pool();
    // Two connections at once: the settings are per connection.
    let mut conns = [pool.get().unwrap(), pool.get().unwrap()];
    for conn in conns.iter_mut() {
        let conn: &mut DbConnection = conn;
        let int = |conn: &mut DbConnection, q: &str| {
            diesel::select(sql::<BigInt>(q))
                .get_result::<i64>(conn)
                .unwrap()
        };
        let journal: String = diesel::select(sql::<Text>(
            "(SELECT journal_mode FROM pragma_journal_mode())",
        ))
        .get_result(conn)
        .unwrap();
        assert_eq!(journal, "wal");
        assert_eq!(
            int(conn, "(SELECT foreign_keys FROM pragma_foreign_keys())"),
            1
        );
        assert_eq!(
            int(conn, "(SELECT synchronous FROM pragma_synchronous())"),
            2,
            "FULL"
        );
        assert_eq!(
            int(conn, "(SELECT timeout FROM pragma_busy_timeout())"),
            5000
        );
    }
}
