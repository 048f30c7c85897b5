//! `storage::write` under concurrency, on both backends. On SQLite the
//! writes share transactions (group commit), so these tests check what each
//! write must still get as if it ran alone: its own result, its own
//! rollback, and nothing of a failed neighbour.

use auth_server::storage::{self, DbConnection, StorageError, users};
use diesel::Connection as _;
use tokio::task::JoinSet;

use crate::helpers::{TestDb, on_both_backends_async};

const T0: i64 = 1_700_000_000;
const WRITES: usize = 96;

on_both_backends_async!(
    concurrent_writes_each_commit_or_roll_back_alone,
    a_write_sees_what_the_writes_before_it_committed,
);

/// What write number `i` does after inserting its user.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Ending {
    Succeed,
    Fail,
    Panic,
}

fn ending(i: usize) -> Ending {
    match i % 8 {
        3 => Ending::Fail,
        6 => Ending::Panic,
        _ => Ending::Succeed,
    }
}

async fn concurrent_writes_each_commit_or_roll_back_alone(db: TestDb) {
    // Given many writes queued at once, each inserting a user, some of
    // which then fail and some of which panic
    let pool = db.pool();
    let mut writes = JoinSet::new();
    for i in 0..WRITES {
        let pool = pool.clone();
        writes.spawn(async move {
            let outcome = storage::write(&pool, move |conn: &mut DbConnection| {
                conn.transaction::<_, StorageError, _>(|conn| {
                    users::create(conn, &format!("user-{i}"), "hash".into(), T0)?;
                    match ending(i) {
                        Ending::Succeed => Ok(i),
                        Ending::Fail => Err(StorageError::unexpected("refused after inserting")),
                        Ending::Panic => panic!("a bug in write {i} (expected by this test)"),
                    }
                })
            })
            .await;
            (i, outcome)
        });
    }

    // Then each write gets its own answer
    let mut answered = 0;
    while let Some(joined) = writes.join_next().await {
        let (i, outcome) = joined.expect("the task itself does not panic");
        match ending(i) {
            Ending::Succeed => assert_eq!(outcome.expect("write {i} commits"), i),
            Ending::Fail | Ending::Panic => assert!(
                matches!(outcome, Err(StorageError::Unexpected(_))),
                "write {i} fails: {outcome:?}"
            ),
        }
        answered += 1;
    }
    assert_eq!(answered, WRITES);

    // And exactly the users of the writes that succeeded exist: a failed or
    // panicking write took only its own insert with it
    let mut conn = db.connection();
    for i in 0..WRITES {
        let found = users::find_by_username(&mut conn, &format!("user-{i}")).unwrap();
        assert_eq!(
            found.is_some(),
            ending(i) == Ending::Succeed,
            "user-{i} after a write that ended {:?}",
            ending(i)
        );
    }
}

async fn a_write_sees_what_the_writes_before_it_committed(db: TestDb) {
    // Given writes that all try to create the same user, queued at once
    let pool = db.pool();
    let mut writes = JoinSet::new();
    for _ in 0..16 {
        let pool = pool.clone();
        writes.spawn(async move {
            storage::write(&pool, |conn: &mut DbConnection| {
                users::create(conn, "carol", "hash".into(), T0)
            })
            .await
        });
    }

    // Then exactly one succeeds and every other one sees the taken name,
    // within a batch as across batches
    let (mut created, mut conflicts) = (0, 0);
    while let Some(joined) = writes.join_next().await {
        match joined.expect("the task does not panic") {
            Ok(_) => created += 1,
            Err(StorageError::Conflict) => conflicts += 1,
            Err(other) => panic!("unexpected: {other:?}"),
        }
    }
    assert_eq!((created, conflicts), (1, 15));
}
