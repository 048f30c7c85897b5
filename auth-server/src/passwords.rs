//! Password hashing: argon2id with OWASP parameters on a fixed pool of hash
//! threads, each reusing one preallocated argon2 memory area, behind a
//! bounded queue; with a dummy hash so that unknown users cost as much as
//! known ones.
//!
//! Why a pool of our own rather than tokio's blocking pool: every argon2id
//! hash needs 19 MiB. On `spawn_blocking` each hash ran on whichever of up
//! to 512 blocking threads was free, allocated its 19 MiB there, and glibc
//! kept the freed blocks in per-thread arenas, so the resident memory grew
//! with the number of threads that ever hashed (568 MiB under a login
//! storm, BENCHMARKS.md). Here `workers` threads each own one area for
//! their whole life: the memory is `workers` × 19 MiB, allocated once.
//! Database work also no longer queues behind hashes on the blocking pool.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use subtle::ConstantTimeEq as _;

use crate::domain::Password;
use crate::tokens::random_bytes;

/// argon2 memory cost in KiB (= 1 KiB blocks): 19 MiB, OWASP's first
/// recommendation for argon2id (with t = 2, p = 1).
const MEMORY_KIB: u32 = 19 * 1024;
const TIME_COST: u32 = 2;
const LANES: u32 = 1;

/// Hashes that may wait per worker before logins are turned away with 503.
/// At ~25 ms per hash per core, 16 waiting hashes are ~0.4 s of queueing:
/// beyond that a client is better served by a fast "retry later" than by a
/// slow answer, and the queue cannot grow without bound in a storm.
pub const QUEUE_PER_WORKER: usize = 16;

/// Why hashing failed. Never carries the password.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// The OS random source failed (salt).
    #[error("could not generate a salt")]
    Random(#[from] getrandom::Error),
    /// argon2 refused (a malformed stored hash, bad parameters).
    #[error("argon2: {0}")]
    Argon2(String),
    /// Every hash thread is busy and the queue is full: retry later (503).
    #[error("password hashing is saturated; retry later")]
    Busy,
    /// A hash thread could not be started, or died with the job (a bug).
    #[error("password hash worker failed")]
    Worker,
}

impl HashError {
    /// Whether this is [`HashError::Busy`]: temporary, not a fault.
    pub fn is_busy(&self) -> bool {
        matches!(self, Self::Busy)
    }
}

impl From<argon2::password_hash::Error> for HashError {
    fn from(err: argon2::password_hash::Error) -> Self {
        Self::Argon2(err.to_string())
    }
}

impl From<argon2::Error> for HashError {
    fn from(err: argon2::Error) -> Self {
        Self::Argon2(err.to_string())
    }
}

/// The parameters new hashes are made with.
fn params() -> Result<Params, HashError> {
    Ok(Params::new(MEMORY_KIB, TIME_COST, LANES, None)?)
}

/// One argon2 memory area, sized for [`params`]: a hash thread allocates it
/// once and reuses it for every hash.
fn memory_area() -> Result<Vec<Block>, HashError> {
    Ok(vec![Block::default(); params()?.block_count()])
}

/// Hashes `password` into a PHC string, on the calling thread, with
/// `memory` as argon2's working area. For the CLI and start-up (with a
/// fresh area); request handlers use [`Hasher::hash`].
fn hash_with(password: &Password, memory: &mut [Block]) -> Result<String, HashError> {
    let salt = SaltString::encode_b64(&random_bytes::<16>()?)?;
    let params = params()?;
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    let mut salt_bytes = [0u8; 64];
    let salt_raw = salt.as_salt().decode_b64(&mut salt_bytes)?;
    argon2.hash_password_into_with_memory(
        password.expose().as_bytes(),
        salt_raw,
        &mut out,
        &mut *memory,
    )?;
    Ok(PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params)?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out)?),
    }
    .to_string())
}

/// Whether `password` matches the PHC string `phc`, on the calling thread,
/// with `memory` as argon2's working area. A stored hash made with more
/// memory than [`params`] (an older, stronger setting) gets a temporary
/// area of its own.
fn verify_with(password: &Password, phc: &str, memory: &mut [Block]) -> Result<bool, HashError> {
    let parsed = PasswordHash::new(phc)?;
    let algorithm = Algorithm::try_from(parsed.algorithm)?;
    let version = parsed
        .version
        .map(Version::try_from)
        .transpose()?
        .unwrap_or_default();
    let params = Params::try_from(&parsed)?;
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return Err(HashError::Argon2("stored hash lacks salt or output".into()));
    };
    let mut salt_bytes = [0u8; 64];
    let salt_raw = salt.decode_b64(&mut salt_bytes)?;
    let mut out = [0u8; Output::MAX_LENGTH];
    let out = out
        .get_mut(..expected.len())
        .ok_or_else(|| HashError::Argon2("stored hash output too long".into()))?;
    let needed = params.block_count();
    let argon2 = Argon2::new(algorithm, version, params);
    if needed <= memory.len() {
        argon2.hash_password_into_with_memory(
            password.expose().as_bytes(),
            salt_raw,
            out,
            &mut *memory,
        )?;
    } else {
        argon2.hash_password_into(password.expose().as_bytes(), salt_raw, out)?;
    }
    Ok(bool::from(expected.as_bytes().ct_eq(out)))
}

/// Hashes `password` into a PHC string, on the calling thread. For the CLI
/// and start-up; request handlers use [`Hasher::hash`].
pub fn hash_blocking(password: &Password) -> Result<String, HashError> {
    hash_with(password, &mut memory_area()?)
}

/// Whether `password` matches the PHC string `phc`, on the calling thread.
pub fn verify_blocking(password: &Password, phc: &str) -> Result<bool, HashError> {
    verify_with(password, phc, &mut memory_area()?)
}

/// Work for a hash thread: runs with the thread's memory area.
type Job = Box<dyn FnOnce(&mut [Block]) + Send>;

/// The password hasher for request handlers: `workers` dedicated threads
/// behind a queue of `workers` × [`QUEUE_PER_WORKER`]. A login storm
/// queues here, and past the bound is refused at once with
/// [`HashError::Busy`], instead of piling up or starving token refreshes,
/// health checks and database work. The threads stop when the last clone
/// is dropped.
#[derive(Clone)]
pub struct Hasher {
    jobs: SyncSender<Job>,
    dummy_hash: Arc<str>,
    workers: usize,
    gauges: Arc<Gauges>,
}

/// Hashes queued and running, for the metrics endpoint.
#[derive(Debug, Default)]
struct Gauges {
    waiting: AtomicUsize,
    running: AtomicUsize,
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hasher")
            .field("workers", &self.workers)
            .field("gauges", &self.gauges)
            .finish_non_exhaustive()
    }
}

impl Hasher {
    /// Starts `workers` hash threads (at least one), each allocating its
    /// memory area, and computes the dummy hash (of a random password
    /// nobody knows) on one of them. Blocking: call it before serving, or
    /// from a blocking thread.
    pub fn new(workers: usize) -> Result<Self, HashError> {
        let workers = workers.max(1);
        let (jobs, queue) = std::sync::mpsc::sync_channel::<Job>(workers * QUEUE_PER_WORKER);
        let queue = Arc::new(Mutex::new(queue));
        let gauges = Arc::new(Gauges::default());
        for index in 0..workers {
            let queue = Arc::clone(&queue);
            let gauges = Arc::clone(&gauges);
            std::thread::Builder::new()
                .name(format!("argon2-{index}"))
                .spawn(move || hash_thread(&queue, &gauges))
                .map_err(|_| HashError::Worker)?;
        }
        let mut hasher = Self {
            jobs,
            dummy_hash: Arc::from(""),
            workers,
            gauges,
        };
        let unguessable = Password::new(crate::tokens::sha256_hex(&random_bytes::<32>()?));
        let (reply, answer) = std::sync::mpsc::channel();
        hasher.submit(Box::new(move |memory| {
            // The receiver waits below; a send error cannot happen.
            let _ = reply.send(hash_with(&unguessable, memory));
        }))?;
        hasher.dummy_hash = answer.recv().map_err(|_| HashError::Worker)??.into();
        Ok(hasher)
    }

    /// Number of hash threads: most hashes computed at once.
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// Hashes computing now.
    pub fn in_flight(&self) -> usize {
        self.gauges.running.load(Ordering::Relaxed)
    }

    /// Hashes queued for one of the [`Hasher::workers`] threads.
    pub fn waiting(&self) -> usize {
        self.gauges.waiting.load(Ordering::Relaxed)
    }

    /// Hashes a new password.
    pub async fn hash(&self, password: Password) -> Result<String, HashError> {
        self.run(move |memory| hash_with(&password, memory)).await
    }

    /// Checks a login. With `stored` = `None` (no such user) it verifies
    /// against the dummy hash and returns `false`, so the answer takes as
    /// long as for a real user.
    pub async fn verify(
        &self,
        password: Password,
        stored: Option<String>,
    ) -> Result<bool, HashError> {
        let known = stored.is_some();
        let phc = stored.unwrap_or_else(|| self.dummy_hash.to_string());
        let matches = self
            .run(move |memory| verify_with(&password, &phc, memory))
            .await?;
        Ok(known && matches)
    }

    /// Queues `work` for a hash thread and awaits its result. A caller that
    /// goes away while queued does not cancel the hash (it is already
    /// counted against the bound); its result is dropped.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut [Block]) -> Result<T, HashError> + Send + 'static,
    ) -> Result<T, HashError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.submit(Box::new(move |memory| {
            // The caller may have gone away; then nobody wants the answer.
            let _ = reply.send(work(memory));
        }))?;
        answer.await.map_err(|_| HashError::Worker)?
    }

    fn submit(&self, job: Job) -> Result<(), HashError> {
        // Counted before the send so a worker's decrement never comes first.
        self.gauges.waiting.fetch_add(1, Ordering::Relaxed);
        self.jobs.try_send(job).map_err(|err| {
            self.gauges.waiting.fetch_sub(1, Ordering::Relaxed);
            match err {
                TrySendError::Full(_) => HashError::Busy,
                TrySendError::Disconnected(_) => HashError::Worker,
            }
        })
    }
}

/// One hash thread: allocates its memory area, then runs jobs until every
/// [`Hasher`] clone is gone.
fn hash_thread(queue: &Mutex<Receiver<Job>>, gauges: &Gauges) {
    yield_to_request_threads();
    let Ok(mut memory) = memory_area() else {
        log::error!("password hash thread could not allocate its memory; it stops");
        return;
    };
    loop {
        // The lock is held only while waiting for the next job; a poisoned
        // lock (a panic while receiving, not expected) still guards a
        // usable receiver.
        let next = queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .recv();
        let Ok(job) = next else { return };
        gauges.waiting.fetch_sub(1, Ordering::Relaxed);
        gauges.running.fetch_add(1, Ordering::Relaxed);
        // A panicking job drops its reply sender (the caller gets
        // `HashError::Worker`); the thread and its memory carry on.
        if std::panic::catch_unwind(AssertUnwindSafe(|| job(&mut memory))).is_err() {
            log::error!("a password hash job panicked");
        }
        gauges.running.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Puts the calling hash thread in Linux's `SCHED_IDLE` class: it runs
/// whenever a core has nothing else to do, and any HTTP worker or database
/// thread that wakes up takes the core from it at once. Without this, a
/// login storm keeps both cores of a small machine hashing and the
/// scheduler makes a refresh or a health check wait out a hash's time
/// slice (several ms; BENCHMARKS.md, item 4b). Hashing still gets every
/// cycle the requests leave, so logins lose almost nothing. Lowering one's
/// own priority needs no privilege; if the OS refuses anyway, hashing goes
/// on at normal priority. (Other systems keep normal priority.)
#[cfg(target_os = "linux")]
fn yield_to_request_threads() {
    use thread_priority::{
        NormalThreadSchedulePolicy, ThreadPriority, ThreadSchedulePolicy,
        set_thread_priority_and_policy, thread_native_id,
    };
    let idle = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle);
    if let Err(err) = set_thread_priority_and_policy(thread_native_id(), ThreadPriority::Min, idle)
    {
        log::warn!("password hash thread keeps normal priority (SCHED_IDLE refused: {err:?})");
    }
}

#[cfg(not(target_os = "linux"))]
fn yield_to_request_threads() {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_salted_argon2id_and_verify() {
        let pw = Password::new("correct horse".into());
        let a = hash_blocking(&pw).expect("hash");
        let b = hash_blocking(&pw).expect("hash");
        assert_ne!(a, b, "salted");
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{a}");
        assert!(verify_blocking(&pw, &a).expect("verify"));
        assert!(!verify_blocking(&Password::new("wrong".into()), &a).expect("verify"));
    }

    /// Hashes made here and by the argon2 crate's own API verify both ways,
    /// including one with other parameters than ours (a bigger memory
    /// cost, which takes the temporary-area path).
    #[test]
    fn interoperates_with_the_argon2_crate() {
        use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
        let pw = Password::new("tr0ub4dor&3".into());
        let ours = hash_blocking(&pw).expect("hash");
        let parsed = PasswordHash::new(&ours).expect("phc");
        Argon2::default()
            .verify_password(b"tr0ub4dor&3", &parsed)
            .expect("the argon2 crate accepts our hash");

        let salt = SaltString::encode_b64(b"sixteen byte slt").expect("salt");
        for params in [
            params().expect("params"),
            Params::new(MEMORY_KIB * 2, 1, 1, None).expect("params"),
        ] {
            let theirs = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
                .hash_password(b"tr0ub4dor&3", &salt)
                .expect("hash")
                .to_string();
            assert!(verify_blocking(&pw, &theirs).expect("verify"), "{theirs}");
            assert!(!verify_blocking(&Password::new("nope".into()), &theirs).expect("verify"));
        }
    }

    #[tokio::test]
    async fn unknown_users_never_match() {
        let hasher = Hasher::new(1).expect("hasher");
        let pw = Password::new("anything".into());
        assert!(!hasher.verify(pw, None).await.expect("verify"));
    }

    #[tokio::test]
    async fn the_pool_hashes_and_verifies() {
        let hasher = Hasher::new(2).expect("hasher");
        let phc = hasher
            .hash(Password::new("s3cret".into()))
            .await
            .expect("hash");
        let right = hasher.verify(Password::new("s3cret".into()), Some(phc.clone()));
        let wrong = hasher.verify(Password::new("s3cre7".into()), Some(phc));
        assert!(right.await.expect("verify"));
        assert!(!wrong.await.expect("verify"));
        assert_eq!(hasher.waiting(), 0);
    }

    /// Past the queue bound a hash is refused at once, and the queue drains.
    #[tokio::test]
    async fn a_full_queue_answers_busy_at_once() {
        let hasher = Hasher::new(1).expect("hasher");
        // Park the only thread until released, so nothing leaves the queue.
        let (release, parked) = std::sync::mpsc::channel::<()>();
        hasher
            .submit(Box::new(move |_| {
                let _ = parked.recv();
            }))
            .expect("park");
        // Taken by the thread once nothing waits (`in_flight` could still
        // count the dummy hash of `new`, whose reply comes first).
        while hasher.waiting() > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        for _ in 0..QUEUE_PER_WORKER {
            hasher.submit(Box::new(|_| {})).expect("room in the queue");
        }
        assert_eq!(hasher.waiting(), QUEUE_PER_WORKER);
        let refused = hasher.verify(Password::new("x".into()), None).await;
        assert!(matches!(refused, Err(HashError::Busy)), "{refused:?}");
        assert_eq!(
            hasher.waiting(),
            QUEUE_PER_WORKER,
            "a refusal leaves the count"
        );
        release.send(()).expect("release");
        while hasher.waiting() > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        let served = hasher.verify(Password::new("x".into()), None).await;
        assert!(!served.expect("verified once the queue drained"));
    }
}
