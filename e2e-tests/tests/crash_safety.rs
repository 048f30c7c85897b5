//! `kill -9` in the middle of a refresh load loses nothing and duplicates
//! nothing.
//!
//! Several clients each log in and then refresh in a tight chain, every
//! refresh presenting the token the previous one returned. The auth server
//! is killed with SIGKILL while they run (no shutdown code runs), restarted
//! on the same database, and the database, read directly with SQL, must
//! agree with what every client holds.
//!
//! The invariant, per client, where R is the number of refresh responses
//! (200) the client received and T the last refresh token it received:
//!
//! 1. T is known: the database has a row for sha256(T). A rotation is
//!    committed before its response is sent, so a client can never hold a
//!    token the database lost.
//!    So is every token the client received before T, and each of those
//!    is marked used (it was rotated).
//! 2. No family has two live tokens (unused and unrevoked), anywhere.
//! 3. Either T is live, its family holds exactly R + 1 tokens (the login's
//!    and one per refresh the client saw), and refreshing T after the
//!    restart succeeds: the session survived the crash;
//! 4. or the client's last request was cut off by the kill after its
//!    rotation committed: T is used, its family holds R + 2 tokens, the one
//!    live token is the successor the client never received, and
//!    presenting T after the restart is reuse (RFC 9700 §4.14): the answer
//!    is `invalid_grant` and the family is revoked, so the unseen successor
//!    is dead too and the client simply logs in again.
//!
//! Anything else is a defect, in particular a T whose refresh gives
//! `invalid_grant` while its family stays live (a token the database does
//! not honour and does not revoke), or a family whose token count differs
//! from what its client saw (a rotation lost or applied twice).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use common::{CLIENT, FULL_SCOPE, PASSWORD, http_client, on_both_backends, poll_until};
use diesel::deserialize::QueryableByName;
use diesel::sql_types::{BigInt, Nullable};
use diesel::{Connection, PgConnection, RunQueryDsl, SqliteConnection};
use e2e_tests::fixture::{AuthServer, DEFAULT_AUDIENCE, Database};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Clients refreshing at once.
const CLIENTS: usize = 6;
/// Refreshes every client must have completed before the kill, so the
/// kill lands in the middle of long chains rather than at the start.
const REFRESHES_BEFORE_KILL: usize = 5;
/// How long the load may take to reach that point.
const LOAD_PATIENCE: Duration = Duration::from_secs(60);

on_both_backends!(every_client_holds_a_live_token_or_a_revoked_family_after_a_kill);

fn every_client_holds_a_live_token_or_a_revoked_family_after_a_kill(database: Database) {
    // Given an auth server, and clients each refreshing their own session
    // in a chain as fast as they can
    let mut auth = AuthServer::builder()
        .database(database.clone())
        .start()
        .expect("auth-server starts");
    auth.add_user("alice", PASSWORD).expect("users add alice");
    auth.add_client(
        CLIENT,
        &["password", "refresh_token"],
        FULL_SCOPE,
        DEFAULT_AUDIENCE,
    )
    .expect("clients add notes-app");
    let progress: Arc<Vec<AtomicUsize>> =
        Arc::new((0..CLIENTS).map(|_| AtomicUsize::new(0)).collect());
    let clients: Vec<_> = (0..CLIENTS)
        .map(|n| {
            let token_url = auth.token_url();
            let progress = Arc::clone(&progress);
            thread::spawn(move || refresh_chain(&token_url, &progress[n]))
        })
        .collect();

    // When the server is killed with SIGKILL in the middle of that load
    poll_until(LOAD_PATIENCE, "every client refreshing", || {
        progress
            .iter()
            .all(|done| done.load(Ordering::SeqCst) >= REFRESHES_BEFORE_KILL)
            .then_some(())
    });
    let pid = Pid::from_raw(i32::try_from(auth.pid()).expect("a pid fits in i32"));
    kill(pid, Signal::SIGKILL).expect("SIGKILL the auth server");
    let chains: Vec<Chain> = clients
        .into_iter()
        .map(|client| client.join().expect("a client thread"))
        .collect();
    let exit = auth.stop().expect("the killed server's exit status");
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&exit),
        Some(Signal::SIGKILL as i32),
        "the server died of SIGKILL, not of its own accord: {exit}"
    );
    for (n, chain) in chains.iter().enumerate() {
        assert_eq!(
            chain.refused, None,
            "client {n} was refused before the kill"
        );
    }

    // Then the database agrees with every client (invariants 1, 2, and the
    // state that decides between 3 and 4)
    let mut ledger = Ledger::open(&database);
    poll_until(LOAD_PATIENCE, "the killed server's sessions to end", || {
        ledger.settled().then_some(())
    });
    assert_eq!(ledger.families_with_several_live_tokens(), 0, "invariant 2");
    let states: Vec<TokenState> = chains
        .iter()
        .enumerate()
        .map(|(n, chain)| {
            let state = ledger
                .token(&chain.last_token)
                .unwrap_or_else(|| panic!("client {n} holds a token the database lost"));
            assert_eq!(
                state.family_live_tokens, 1,
                "client {n}: its family has one live token: {state:?}"
            );
            state
        })
        .collect();
    // And every token a client received before its last one is known to
    // the database, and used: nothing handed out was lost or left live
    for (n, chain) in chains.iter().enumerate() {
        for (i, token) in chain.earlier_tokens.iter().enumerate() {
            let state = ledger.token(token).unwrap_or_else(|| {
                panic!("client {n}: token {i} it received is unknown to the database")
            });
            assert!(
                state.used_at.is_some(),
                "client {n}: token {i} was rotated, so it is marked used: {state:?}"
            );
        }
    }
    drop(ledger);

    // And after a restart on the same database, every client's last token
    // either refreshes (3) or is reuse that revokes its family (4)
    let auth = AuthServer::builder()
        .database(database.clone())
        .start()
        .expect("auth-server restarts on the same database");
    let http = http_client();
    let mut survived = 0;
    for (n, (chain, state)) in chains.iter().zip(&states).enumerate() {
        let response = http
            .post(auth.token_url())
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", chain.last_token.as_str()),
                ("client_id", CLIENT),
            ])
            .send()
            .expect("the restarted server answers");
        let status = response.status().as_u16();
        let body: Value = response.json().expect("a JSON answer");
        if state.used_at.is_none() {
            assert!(
                !state.family_revoked,
                "client {n}: nobody revoked it: {state:?}"
            );
            assert_eq!(
                state.family_tokens,
                chain.refreshes + 1,
                "client {n}: {state:?}"
            );
            assert_eq!(status, 200, "client {n}'s live token refreshes: {body}");
            survived += 1;
        } else {
            assert!(
                chain.cut_off,
                "client {n}: only a cut-off request can rotate unseen"
            );
            assert_eq!(
                state.family_tokens,
                chain.refreshes + 2,
                "client {n}: {state:?}"
            );
            assert_eq!(status, 400, "client {n}: {body}");
            assert_eq!(body["error"], "invalid_grant", "client {n}");
        }
    }
    let mut ledger = Ledger::open(&database);
    for (n, (chain, state)) in chains.iter().zip(&states).enumerate() {
        let after = ledger.token(&chain.last_token).expect("still known");
        if state.used_at.is_some() {
            assert!(after.family_revoked, "client {n}: reuse revoked the family");
        } else {
            assert!(
                !after.family_revoked,
                "client {n}: a survivor's family lives"
            );
        }
    }
    assert_eq!(
        ledger.families_with_several_live_tokens(),
        0,
        "invariant 2 holds after"
    );
    println!(
        "{survived} of {CLIENTS} sessions survived the kill; the rest were cut off mid-rotation"
    );
}

/// What one client saw.
#[derive(Debug)]
struct Chain {
    /// The last refresh token it received.
    last_token: String,
    /// Every refresh token it received before the last one, oldest first.
    earlier_tokens: Vec<String>,
    /// Refresh responses (200) it received; an `i64` like the database's
    /// counts it is compared with.
    refreshes: i64,
    /// Whether its last request got no answer (the kill cut it off).
    cut_off: bool,
    /// A refusal (status and body) it got from a running server, if any:
    /// with nobody revoking anything, there must be none.
    refused: Option<String>,
}

/// Logs in, then refreshes in a chain until a request gets no answer.
fn refresh_chain(token_url: &str, progress: &AtomicUsize) -> Chain {
    let http = http_client();
    let login: Value = http
        .post(token_url)
        .form(&[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", PASSWORD),
            ("client_id", CLIENT),
        ])
        .send()
        .expect("login answers")
        .json()
        .expect("login is JSON");
    let mut chain = Chain {
        last_token: refresh_token_of(&login),
        earlier_tokens: Vec::new(),
        refreshes: 0,
        cut_off: false,
        refused: None,
    };
    loop {
        let sent = http
            .post(token_url)
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", chain.last_token.as_str()),
                ("client_id", CLIENT),
            ])
            .send();
        // A response whose body was cut off counts as no answer: the
        // client did not receive the new token.
        let answer = sent.and_then(|response| {
            let status = response.status();
            response.text().map(|body| (status, body))
        });
        match answer {
            Ok((status, body)) if status.is_success() => {
                let body: Value = serde_json::from_str(&body).expect("a token response");
                let next = refresh_token_of(&body);
                chain
                    .earlier_tokens
                    .push(std::mem::replace(&mut chain.last_token, next));
                chain.refreshes += 1;
                progress.fetch_add(1, Ordering::SeqCst);
            }
            Ok((status, body)) => {
                chain.refused = Some(format!("{status}: {body}"));
                return chain;
            }
            Err(_) => {
                chain.cut_off = true;
                return chain;
            }
        }
    }
}

fn refresh_token_of(response: &Value) -> String {
    response["refresh_token"]
        .as_str()
        .unwrap_or_else(|| panic!("a refresh token in {response}"))
        .to_owned()
}

/// What the database says about one refresh token and its family.
#[derive(Debug, diesel::QueryableByName)]
struct TokenState {
    #[diesel(sql_type = Nullable<BigInt>)]
    used_at: Option<i64>,
    /// Tokens ever issued in its family.
    #[diesel(sql_type = BigInt)]
    family_tokens: i64,
    /// Its family's tokens neither used nor revoked.
    #[diesel(sql_type = BigInt)]
    family_live_tokens: i64,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    family_revoked: bool,
}

/// A count from a query.
#[derive(Debug, diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// A direct connection to the auth server's database, bypassing the
/// server's code, so the check does not trust what it checks.
enum Ledger {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

impl Ledger {
    fn open(database: &Database) -> Self {
        let url = database.url();
        match database.kind() {
            "sqlite" => {
                let path = url.strip_prefix("sqlite://").unwrap_or(url);
                Self::Sqlite(SqliteConnection::establish(path).expect("open the SQLite file"))
            }
            _ => Self::Postgres(PgConnection::establish(url).expect("connect to PostgreSQL")),
        }
    }

    /// Whether the database has finished everything the killed server
    /// started. A PostgreSQL backend outlives its killed client until it
    /// notices the closed socket, and a COMMIT it had already received
    /// still completes; once no other session is connected, what we read
    /// is final. SQLite has no such second party.
    fn settled(&mut self) -> bool {
        if matches!(self, Self::Sqlite(_)) {
            return true;
        }
        let rows: Vec<Count> = self.load(
            "SELECT COUNT(*) AS n FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        );
        rows.first().is_some_and(|row| row.n == 0)
    }

    /// Families with more than one token neither used nor revoked.
    fn families_with_several_live_tokens(&mut self) -> i64 {
        let rows: Vec<Count> = self.load(
            "SELECT COUNT(*) AS n FROM (SELECT family_id FROM refresh_tokens \
             WHERE used_at IS NULL AND revoked_at IS NULL \
             GROUP BY family_id HAVING COUNT(*) > 1) AS crowded",
        );
        rows.first().map_or(0, |row| row.n)
    }

    /// The token whose SHA-256 is that of `token`, or `None` if unknown.
    fn token(&mut self, token: &str) -> Option<TokenState> {
        // Lower-case hex, so it can be written into the query as is; that
        // keeps one query text for both backends' placeholder styles.
        let hash = format!("{:x}", Sha256::digest(token.as_bytes()));
        let sql = format!(
            "SELECT t.used_at AS used_at, \
               (SELECT COUNT(*) FROM refresh_tokens s WHERE s.family_id = t.family_id) \
                 AS family_tokens, \
               (SELECT COUNT(*) FROM refresh_tokens s WHERE s.family_id = t.family_id \
                  AND s.used_at IS NULL AND s.revoked_at IS NULL) AS family_live_tokens, \
               (f.revoked_at IS NOT NULL) AS family_revoked \
             FROM refresh_tokens t JOIN token_families f ON f.id = t.family_id \
             WHERE t.token_hash = '{hash}'"
        );
        self.load(&sql).into_iter().next()
    }

    fn load<T>(&mut self, sql: &str) -> Vec<T>
    where
        T: QueryableByName<diesel::sqlite::Sqlite> + QueryableByName<diesel::pg::Pg> + 'static,
    {
        let query = diesel::sql_query(sql);
        match self {
            Self::Sqlite(conn) => query.load(conn),
            Self::Postgres(conn) => query.load(conn),
        }
        .unwrap_or_else(|error| panic!("{sql}: {error}"))
    }
}
