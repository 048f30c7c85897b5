//! Group commit for SQLite: every write of this process runs on one writer
//! thread, which commits all the writes that queued while the previous
//! commit was reaching the disk in a single transaction, so one fsync
//! serves many requests.
//!
//! Why: SQLite admits one writer per file, and with `synchronous=FULL`
//! each commit waits for the disk. Writers taking turns (one transaction
//! each) can never do better than one fsync per request: the refresh grant
//! was capped below the raw rate of one rotation transaction, and every
//! turn also paid a hand-over between threads (BENCHMARKS.md). PostgreSQL
//! does the same batching (`commit_delay`); here it needs no delay, since
//! writes arriving during a commit simply form the next batch.
//!
//! What each write still gets, as if it ran alone:
//! - Isolation: writes run one after another on one connection, each
//!   inside its own savepoint, and each sees what the earlier ones wrote.
//! - Atomicity: an `Err` from a write rolls back its savepoint only; the
//!   other writes of the batch are unaffected.
//! - Durability before the answer: a write's result is handed back only
//!   after the batch's `COMMIT` returned. If the commit fails, every write
//!   of the batch gets an error, never a success for data that was lost.
//! - Bounded waiting: a write still queued when its deadline passes (the
//!   pool checkout timeout) is answered 503 without running; one whose
//!   requester has gone away is skipped. A write that has started always
//!   finishes, so a rotation is never half-delivered.

use std::num::NonZeroU32;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{Receiver, Sender};
use std::time::{Duration, Instant};

use diesel::SqliteConnection;
use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::r2d2::Pool;

use super::StorageError;
use super::pool::{ConnectionManager, DbConnection};

/// Most writes committed together. Large enough that a burst of requests
/// shares one fsync, small enough that the first of them does not wait long
/// for the last.
const MAX_BATCH: usize = 256;

/// The queue into the writer thread. Dropping the last handle (with the
/// pool) ends the thread once it has finished the writes already queued.
#[derive(Debug)]
pub struct GroupCommit {
    queue: Sender<Box<dyn QueuedWrite>>,
    timeout: Duration,
}

impl GroupCommit {
    /// Starts the writer thread, which checks a connection out of
    /// `connections` for each batch. A write waits at most `timeout` in the
    /// queue.
    pub fn start(
        connections: Pool<ConnectionManager>,
        timeout: Duration,
    ) -> Result<Self, StorageError> {
        let (queue, writes) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("sqlite-writer".to_owned())
            .spawn(move || writer_thread(&connections, &writes))
            .map_err(StorageError::unexpected)?;
        Ok(Self { queue, timeout })
    }

    /// Queues `f` and waits until its batch has committed (or failed).
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StorageError> + Send + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let pending = Pending {
            f,
            reply,
            deadline: Instant::now() + self.timeout,
        };
        self.queue
            .send(Box::new(pending))
            .map_err(|_| E::from(StorageError::unexpected("the SQLite writer thread stopped")))?;
        answer.await.map_err(|_| {
            E::from(StorageError::unexpected(
                "the SQLite writer dropped a write",
            ))
        })?
    }
}

/// Why a whole batch failed; each of its writes is told with its own
/// [`StorageError`] of the same kind.
#[derive(Debug, Clone)]
struct BatchFailure {
    unavailable: bool,
    reason: String,
}

impl BatchFailure {
    fn of(err: &StorageError) -> Self {
        Self {
            unavailable: matches!(err, StorageError::Unavailable(_)),
            reason: match std::error::Error::source(err) {
                Some(source) => format!("{err}: {source}"),
                None => err.to_string(),
            },
        }
    }

    fn to_error(&self) -> StorageError {
        let reason = Box::<dyn std::error::Error + Send + Sync>::from(self.reason.clone());
        if self.unavailable {
            StorageError::Unavailable(reason)
        } else {
            StorageError::Unexpected(reason)
        }
    }
}

/// A write waiting in the queue, its types erased so that one queue holds
/// them all.
trait QueuedWrite: Send {
    /// Whether its requester still waits for the answer.
    fn is_wanted(&self) -> bool;
    /// Whether it has waited past its deadline at `now`.
    fn is_late(&self, now: Instant) -> bool;
    /// Answers with `err` without running.
    fn refuse(self: Box<Self>, err: StorageError);
    /// Runs inside a savepoint of the batch transaction. Returns the answer
    /// to hand over once the batch is over, and whether the transaction is
    /// still usable (a savepoint that cannot be released or rolled back
    /// breaks the batch).
    fn run(self: Box<Self>, conn: &mut DbConnection) -> (Box<dyn Answer>, bool);
}

/// A write's result, held back until its batch has committed.
trait Answer: Send {
    /// Hands the result over; a failed commit turns a success into an error.
    fn deliver(self: Box<Self>, commit: Result<(), &BatchFailure>);
}

struct Pending<T, E, F> {
    f: F,
    reply: tokio::sync::oneshot::Sender<Result<T, E>>,
    deadline: Instant,
}

impl<T, E, F> QueuedWrite for Pending<T, E, F>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<StorageError> + Send + 'static,
{
    fn is_wanted(&self) -> bool {
        !self.reply.is_closed()
    }

    fn is_late(&self, now: Instant) -> bool {
        now >= self.deadline
    }

    fn refuse(self: Box<Self>, err: StorageError) {
        // The requester may have gone away; then nobody wants the answer.
        let _ = self.reply.send(Err(E::from(err)));
    }

    fn run(self: Box<Self>, conn: &mut DbConnection) -> (Box<dyn Answer>, bool) {
        let Pending { f, reply, .. } = *self;
        let (result, usable) = in_savepoint(conn, f);
        (Box::new(Ran { result, reply }), usable)
    }
}

struct Ran<T, E> {
    result: Result<T, E>,
    reply: tokio::sync::oneshot::Sender<Result<T, E>>,
}

impl<T, E> Answer for Ran<T, E>
where
    T: Send + 'static,
    E: From<StorageError> + Send + 'static,
{
    fn deliver(self: Box<Self>, commit: Result<(), &BatchFailure>) {
        let answer = match (self.result, commit) {
            (Ok(value), Ok(())) => Ok(value),
            (Ok(_), Err(failure)) => Err(E::from(failure.to_error())),
            (Err(err), _) => Err(err),
        };
        let _ = self.reply.send(answer);
    }
}

/// Runs `f` inside a savepoint (diesel nests a transaction begun inside the
/// batch's as `SAVEPOINT`), released on `Ok` and rolled back on `Err` or a
/// panic. The flag says whether the batch transaction is still usable.
fn in_savepoint<T, E>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> (Result<T, E>, bool)
where
    E: From<StorageError>,
{
    let not_sqlite = || E::from(StorageError::unexpected("group commit is for SQLite"));
    let DbConnection::Sqlite(sqlite) = conn else {
        return (Err(not_sqlite()), false);
    };
    let batch_depth = depth(sqlite);
    if let Err(err) = AnsiTransactionManager::begin_transaction(sqlite) {
        return (Err(E::from(StorageError::from(err))), false);
    }
    let result = catch_unwind(AssertUnwindSafe(|| f(conn)));
    let DbConnection::Sqlite(sqlite) = conn else {
        return (Err(not_sqlite()), false);
    };
    let result = match result {
        Ok(result) => result,
        Err(_panic) => {
            log::error!("a database write panicked; its changes are rolled back");
            Err(E::from(StorageError::unexpected(
                "a database write panicked",
            )))
        }
    };
    // A panic inside `f`'s own `conn.transaction` skips diesel's rollback
    // and leaves that level open: close everything `f` opened, so that the
    // release or rollback below is of this write's savepoint and nothing
    // else (otherwise the batch's COMMIT would only release a savepoint).
    let nested = depth(sqlite) > batch_depth + 1;
    while depth(sqlite) > batch_depth + 1 {
        if AnsiTransactionManager::rollback_transaction(sqlite).is_err() {
            return (result, false);
        }
    }
    let (result, closed) = match result {
        Ok(_) if nested => {
            let usable = AnsiTransactionManager::rollback_transaction(sqlite).is_ok();
            let err = StorageError::unexpected("a database write left a transaction open");
            (Err(E::from(err)), usable)
        }
        Ok(value) => match AnsiTransactionManager::commit_transaction(sqlite) {
            Ok(()) => (Ok(value), true),
            Err(err) => (Err(E::from(StorageError::from(err))), false),
        },
        Err(err) => {
            let usable = AnsiTransactionManager::rollback_transaction(sqlite).is_ok();
            (Err(err), usable)
        }
    };
    (result, closed && depth(sqlite) == batch_depth)
}

/// How many transactions are open on `sqlite` (0 outside any; diesel's
/// count of `BEGIN` plus savepoints). A broken transaction manager counts
/// as 0, which makes every check against an expected depth fail.
fn depth(sqlite: &mut SqliteConnection) -> u32 {
    AnsiTransactionManager::transaction_manager_status_mut(sqlite)
        .transaction_depth()
        .ok()
        .flatten()
        .map_or(0, NonZeroU32::get)
}

fn writer_thread(connections: &Pool<ConnectionManager>, writes: &Receiver<Box<dyn QueuedWrite>>) {
    while let Ok(first) = writes.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match writes.try_recv() {
                Ok(write) => batch.push(write),
                Err(_) => break,
            }
        }
        commit_batch(connections, batch);
    }
}

/// Runs and commits one batch, then answers every write in it.
fn commit_batch(connections: &Pool<ConnectionManager>, batch: Vec<Box<dyn QueuedWrite>>) {
    let now = Instant::now();
    let mut due = Vec::with_capacity(batch.len());
    for write in batch {
        if !write.is_wanted() {
            continue;
        }
        if write.is_late(now) {
            write.refuse(StorageError::Unavailable(
                "waited too long for the SQLite writer".into(),
            ));
        } else {
            due.push(write);
        }
    }
    if due.is_empty() {
        return;
    }

    let mut conn = match connections.get() {
        Ok(conn) => conn,
        Err(err) => return refuse_all(due, &BatchFailure::of(&StorageError::from(err))),
    };
    let DbConnection::Sqlite(sqlite) = &mut *conn else {
        let failure = BatchFailure::of(&StorageError::unexpected("group commit is for SQLite"));
        return refuse_all(due, &failure);
    };
    // Takes the write lock up front: another process on the same file is
    // waited for here (busy_timeout), not in the middle of a write.
    if let Err(err) = AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE") {
        return refuse_all(due, &BatchFailure::of(&StorageError::from(err)));
    }

    let mut answers = Vec::with_capacity(due.len());
    let mut writes = due.into_iter();
    let mut broken = false;
    for write in writes.by_ref() {
        let (answer, usable) = write.run(&mut conn);
        answers.push(answer);
        if !usable {
            broken = true;
            break;
        }
    }

    let DbConnection::Sqlite(sqlite) = &mut *conn else {
        return;
    };
    // The batch's own transaction, and nothing a write left open, is what
    // COMMIT ends (COMMIT at a deeper level would only release a savepoint).
    broken |= depth(sqlite) != 1;
    let commit = if broken {
        // The writes not yet run are refused: the transaction cannot
        // take them, and those already run are undone with it.
        let failure = BatchFailure::of(&StorageError::unexpected(
            "a savepoint could not be closed; the batch was rolled back",
        ));
        if let Err(err) = AnsiTransactionManager::rollback_transaction(sqlite) {
            log::error!("rollback of a broken write batch failed: {err}");
        }
        refuse_all(writes.collect(), &failure);
        Err(failure)
    } else {
        // A failed COMMIT is rolled back by the transaction manager.
        AnsiTransactionManager::commit_transaction(sqlite)
            .map_err(|err| BatchFailure::of(&StorageError::from(err)))
    };
    if let Err(failure) = &commit {
        log::error!(
            "a batch of {} database writes failed: {}",
            answers.len(),
            failure.reason
        );
    }
    for answer in answers {
        answer.deliver(commit.as_ref().map(|_| ()));
    }
}

fn refuse_all(writes: Vec<Box<dyn QueuedWrite>>, failure: &BatchFailure) {
    for write in writes {
        write.refuse(failure.to_error());
    }
}
