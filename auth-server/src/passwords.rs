//! Password hashing: argon2id with OWASP parameters, behind a concurrency
//! bound, with a dummy hash so that unknown users cost as much as known ones.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::domain::Password;
use crate::tokens::random_bytes;

/// Why hashing failed. Never carries the password.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// The OS random source failed (salt).
    #[error("could not generate a salt")]
    Random(#[from] getrandom::Error),
    /// argon2 refused (a malformed stored hash, bad parameters).
    #[error("argon2: {0}")]
    Argon2(String),
    /// The blocking task died.
    #[error("password hashing task failed")]
    Join(#[from] tokio::task::JoinError),
    /// The semaphore was closed (shutdown).
    #[error("password hasher is shutting down")]
    Closed,
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

/// argon2id, m = 19 MiB, t = 2, p = 1: the OWASP Password Storage Cheat
/// Sheet's first recommendation.
fn argon2() -> Result<Argon2<'static>, HashError> {
    let params = Params::new(19 * 1024, 2, 1, None)?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes `password` into a PHC string, on the calling thread. For the CLI
/// and start-up; request handlers use [`Hasher::hash`].
pub fn hash_blocking(password: &Password) -> Result<String, HashError> {
    let salt = SaltString::encode_b64(&random_bytes::<16>()?)?;
    Ok(argon2()?
        .hash_password(password.expose().as_bytes(), &salt)?
        .to_string())
}

/// Whether `password` matches the PHC string `phc`, on the calling thread.
pub fn verify_blocking(password: &Password, phc: &str) -> Result<bool, HashError> {
    let parsed = PasswordHash::new(phc)?;
    match argon2()?.verify_password(password.expose().as_bytes(), &parsed) {
        Ok(()) => Ok(true),
        Err(argon2::password_hash::Error::Password) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// The password hasher for request handlers. Each hash takes tens of
/// milliseconds of CPU and 19 MiB; a semaphore lets at most `workers` run at
/// once on the blocking pool, so a login storm queues here instead of
/// starving token refreshes, health checks and database work.
#[derive(Clone)]
pub struct Hasher {
    permits: Arc<Semaphore>,
    dummy_hash: Arc<str>,
    workers: usize,
    /// Hashes queued for a permit (a metrics gauge).
    waiting: Arc<AtomicUsize>,
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hasher")
            .field("available_permits", &self.permits.available_permits())
            .finish_non_exhaustive()
    }
}

impl Hasher {
    /// A hasher running at most `workers` hashes at once. Computes the
    /// dummy hash (of a random password nobody knows) on the calling thread.
    pub fn new(workers: usize) -> Result<Self, HashError> {
        let unguessable = Password::new(crate::tokens::sha256_hex(&random_bytes::<32>()?));
        Ok(Self {
            permits: Arc::new(Semaphore::new(workers.max(1))),
            dummy_hash: hash_blocking(&unguessable)?.into(),
            workers: workers.max(1),
            waiting: Arc::default(),
        })
    }

    /// Most hashes computed at once.
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// Hashes computing now.
    pub fn in_flight(&self) -> usize {
        self.workers
            .saturating_sub(self.permits.available_permits())
    }

    /// Hashes waiting for one of the [`Hasher::workers`] slots.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    /// Hashes a new password.
    pub async fn hash(&self, password: Password) -> Result<String, HashError> {
        self.run(move || hash_blocking(&password)).await
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
        let matches = self.run(move || verify_blocking(&password, &phc)).await?;
        Ok(known && matches)
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, HashError> + Send + 'static,
    ) -> Result<T, HashError> {
        let queued = Queued::enter(&self.waiting);
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| HashError::Closed)?;
        drop(queued);
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        })
        .await?
    }
}

/// Counts a hash in the queue until dropped, so a login whose client went
/// away while queued leaves the count too.
struct Queued<'a>(&'a AtomicUsize);

impl<'a> Queued<'a> {
    fn enter(waiting: &'a AtomicUsize) -> Self {
        waiting.fetch_add(1, Ordering::Relaxed);
        Self(waiting)
    }
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

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

    #[tokio::test]
    async fn unknown_users_never_match() {
        let hasher = Hasher::new(1).expect("hasher");
        let pw = Password::new("anything".into());
        assert!(!hasher.verify(pw, None).await.expect("verify"));
    }
}
