//! A bounded cache of tokens that already passed verification, so a client
//! reusing its access token (as every client does until it expires) costs a
//! SHA-256 and a map lookup instead of a signature check. Envoy's `jwt_authn`
//! keeps the same kind of cache.
//!
//! Safety rules, each one a reason for a line below:
//! - Keyed by the SHA-256 of the *whole* token: two tokens share an entry
//!   only if they are the same bytes, signature included.
//! - Only successes are stored; a refused token is verified afresh each time.
//! - Every hit re-checks `exp` against the clock with the verifier's own
//!   rule (valid while `now < exp + leeway`), so a cached token expires at
//!   exactly the second the verifier would call it expired. `nbf` and `iat`
//!   need no re-check: they passed at insertion and the clock only moves on.
//! - The cache belongs to one key set (see `cache::Epoch`): when the key set
//!   changes, the whole cache is dropped with the old verifier, so a token
//!   signed by a retired or removed key cannot outlive its key here.
//! - Bounded: at most `capacity` entries, split over shards that each take
//!   their own lock, so workers rarely wait for one another.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use sha2::{Digest, Sha256};
use shared_claims::AccessClaims;

/// Entries the resource server keeps unless configured otherwise: a few MiB
/// at most, and more live tokens than one instance usually sees per TTL.
pub const DEFAULT_CAPACITY: usize = 10_000;

/// Shards, each behind its own mutex. A power of two; more than the worker
/// threads of a small machine, so two workers seldom pick the same one.
const SHARDS: usize = 16;

/// The SHA-256 of a whole token: the cache key. Holding the digest rather
/// than the token keeps bearer credentials out of the cache's memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenDigest([u8; 32]);

impl TokenDigest {
    /// Digest of `token`, every byte of it.
    pub fn of(token: &str) -> Self {
        Self(Sha256::digest(token.as_bytes()).into())
    }

    fn shard(&self) -> usize {
        usize::from(self.0[0]) % SHARDS
    }
}

/// Hit and miss counters, for `/metrics` and tests.
#[derive(Debug, Default)]
pub struct VerifiedStats {
    hits: AtomicU64,
    misses: AtomicU64,
}

impl VerifiedStats {
    /// Lookups answered from the cache.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// Lookups that found nothing usable (absent or expired).
    pub fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }
}

#[derive(Debug, Default)]
struct Shard {
    entries: HashMap<TokenDigest, AccessClaims>,
    /// When expired entries were last swept out (Unix seconds). Sweeping is
    /// a full pass, so a shard that stays full of live tokens sweeps at most
    /// once a second and otherwise evicts one arbitrary entry per insert.
    last_sweep: i64,
}

/// Verified tokens and their claims, for one key set.
#[derive(Debug)]
pub struct VerifiedTokens {
    shards: Box<[Mutex<Shard>]>,
    per_shard: usize,
    leeway_secs: i64,
    stats: VerifiedStats,
}

impl VerifiedTokens {
    /// A cache of at most `capacity` tokens (0 disables it), applying the
    /// verifier's `leeway_secs` to `exp`.
    pub fn new(capacity: usize, leeway_secs: i64) -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            per_shard: capacity.div_ceil(SHARDS),
            leeway_secs,
            stats: VerifiedStats::default(),
        }
    }

    /// Hit and miss counters.
    pub fn stats(&self) -> &VerifiedStats {
        &self.stats
    }

    /// Entries held now (expired ones included until swept).
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(s).entries.len()).sum()
    }

    /// Whether no entry is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The claims of an already-verified token, if it is cached and still
    /// unexpired at `now` (Unix seconds). An expired entry is removed.
    pub fn get(&self, digest: &TokenDigest, now: i64) -> Option<AccessClaims> {
        if self.per_shard == 0 {
            return None;
        }
        let mut shard = lock(&self.shards[digest.shard()]);
        let found = match shard.entries.get(digest) {
            Some(claims) if self.is_live(claims, now) => Some(claims.clone()),
            Some(_) => {
                shard.entries.remove(digest);
                None
            }
            None => None,
        };
        drop(shard);
        let counter = if found.is_some() {
            &self.stats.hits
        } else {
            &self.stats.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// Remembers that the token with `digest` verified to `claims` at `now`.
    /// Call only after a successful verification against this cache's key set.
    pub fn insert(&self, digest: TokenDigest, claims: &AccessClaims, now: i64) {
        if self.per_shard == 0 || !self.is_live(claims, now) {
            return;
        }
        let mut shard = lock(&self.shards[digest.shard()]);
        if shard.entries.len() >= self.per_shard && !shard.entries.contains_key(&digest) {
            if shard.last_sweep != now {
                shard.last_sweep = now;
                shard.entries.retain(|_, c| self.is_live(c, now));
            }
            if shard.entries.len() >= self.per_shard {
                // Any victim will do: a token evicted by mistake costs one
                // signature check, and a recency list would cost every hit.
                if let Some(victim) = shard.entries.keys().next().copied() {
                    shard.entries.remove(&victim);
                }
            }
        }
        shard.entries.insert(digest, claims.clone());
    }

    /// The verifier's rule: valid while `now < exp + leeway`, saturating.
    fn is_live(&self, claims: &AccessClaims, now: i64) -> bool {
        now < claims.exp.saturating_add(self.leeway_secs)
    }
}

fn lock(shard: &Mutex<Shard>) -> std::sync::MutexGuard<'_, Shard> {
    // A panic while holding a shard cannot leave it inconsistent (every
    // mutation is a single map call), so a poisoned lock is still usable.
    shard.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use shared_claims::{Audience, Scope};

    use super::*;

    const NOW: i64 = 1_700_000_000;

    fn claims(exp: i64) -> AccessClaims {
        AccessClaims {
            iss: "https://auth.test".into(),
            sub: "alice".into(),
            aud: Audience::single("resource-server".to_owned()),
            exp,
            iat: NOW,
            nbf: NOW,
            jti: "j".into(),
            client_id: "app".into(),
            scope: Scope::default(),
        }
    }

    #[test]
    fn a_stored_token_is_a_hit_and_another_token_is_a_miss() {
        let cache = VerifiedTokens::new(100, 0);
        let stored = claims(NOW + 60);
        cache.insert(TokenDigest::of("a.b.c"), &stored, NOW);

        assert_eq!(cache.get(&TokenDigest::of("a.b.c"), NOW), Some(stored));
        assert_eq!(cache.get(&TokenDigest::of("a.b.d"), NOW), None);
        assert_eq!((cache.stats().hits(), cache.stats().misses()), (1, 1));
    }

    #[test]
    fn a_hit_rechecks_exp_with_the_verifiers_leeway_rule() {
        let cache = VerifiedTokens::new(100, 5);
        let digest = TokenDigest::of("t");
        cache.insert(digest, &claims(NOW + 10), NOW);

        // valid while now < exp + leeway = NOW + 15
        assert!(cache.get(&digest, NOW + 14).is_some());
        assert_eq!(cache.get(&digest, NOW + 15), None);
        // The expired entry was dropped, not just hidden.
        assert_eq!(cache.len(), 0);
        assert_eq!(cache.get(&digest, NOW), None);
    }

    #[test]
    fn an_already_expired_token_is_not_stored() {
        let cache = VerifiedTokens::new(100, 0);
        cache.insert(TokenDigest::of("t"), &claims(NOW), NOW);
        assert!(cache.is_empty());
    }

    #[test]
    fn the_bound_is_respected_under_a_flood_of_live_tokens() {
        let cache = VerifiedTokens::new(64, 0);
        for i in 0..5_000 {
            cache.insert(
                TokenDigest::of(&format!("token-{i}")),
                &claims(NOW + 600),
                NOW,
            );
        }
        assert!(cache.len() <= 64, "held {}", cache.len());
        assert!(cache.len() >= 32, "evicted too eagerly: {}", cache.len());
    }

    #[test]
    fn expired_entries_make_room_before_live_ones_are_evicted() {
        let cache = VerifiedTokens::new(16, 0); // one entry per shard
        let old = TokenDigest::of("old");
        cache.insert(old, &claims(NOW + 1), NOW);
        // Later, a token landing in the same shard replaces the expired one.
        let newer = (0..)
            .map(|i| TokenDigest::of(&format!("new-{i}")))
            .find(|d| d.shard() == old.shard())
            .expect("some digest lands in the shard");
        cache.insert(newer, &claims(NOW + 600), NOW + 5);
        assert!(cache.get(&newer, NOW + 5).is_some());
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn capacity_zero_disables_the_cache() {
        let cache = VerifiedTokens::new(0, 0);
        cache.insert(TokenDigest::of("t"), &claims(NOW + 60), NOW);
        assert_eq!(cache.get(&TokenDigest::of("t"), NOW), None);
    }
}
