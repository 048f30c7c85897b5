//! The JWKS cache: the current [`Verifier`], swapped atomically whenever a
//! fetch brings a usable key set, and the policy for when to fetch.
//!
//! - Reads are lock-free (`ArcSwap`): the hot path never waits for a fetch.
//! - The first fetch retries forever with capped backoff, in the background;
//!   until it succeeds the cache is not ready and tokens cannot be verified.
//! - A background refresh runs every `refresh_every`; a failure keeps the
//!   cached keys (the auth server being down must not stop this API).
//! - A token naming an unknown `kid` triggers at most one refetch per
//!   `unknown_kid_cooldown`, and concurrent ones share it (single flight).
//! - A fetched set with no usable key never replaces a good one.
//! - Tokens that verified are remembered per key set ([`VerifiedTokens`]),
//!   so a reused token skips the signature check; a new key set starts
//!   with an empty cache.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwapOption;
use log::{debug, info, warn};
use shared_claims::actix::TokenVerifier;
use shared_claims::{AccessClaims, JwkSet, TrustedKeys, Verifier, VerifierConfig, VerifyError};

use super::verified::{DEFAULT_CAPACITY, TokenDigest, VerifiedStats, VerifiedTokens};
use super::{FetchError, JwksSource, error_chain};

/// Timing policy of a fetching cache.
#[derive(Debug, Clone)]
pub struct CacheSettings {
    /// Issuer, audience, leeway and algorithm allowlist.
    pub verifier: VerifierConfig,
    /// Interval between background refreshes once keys are loaded.
    pub refresh_every: Duration,
    /// Minimum time between refetches triggered by unknown kids.
    pub unknown_kid_cooldown: Duration,
    /// First retry delay of the initial fetch.
    pub initial_backoff: Duration,
    /// Longest retry delay of the initial fetch.
    pub max_backoff: Duration,
    /// Most already-verified tokens remembered (0: verify every time).
    pub verified_capacity: usize,
}

impl CacheSettings {
    /// The defaults of the command line: refresh every 5 minutes, cooldown
    /// 30 seconds, initial retries from 100 ms up to 5 s.
    pub fn new(verifier: VerifierConfig) -> Self {
        Self {
            verifier,
            refresh_every: Duration::from_secs(300),
            unknown_kid_cooldown: Duration::from_secs(30),
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            verified_capacity: DEFAULT_CAPACITY,
        }
    }
}

/// Counters for tests and `/metrics`.
#[derive(Debug, Default)]
pub struct FetchStats {
    fetches: AtomicU64,
    failures: AtomicU64,
    unknown_kid_refetches: AtomicU64,
    last_success_unix: AtomicU64,
}

impl FetchStats {
    /// Fetch attempts of any cause (initial, background, unknown kid).
    pub fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// Attempts that failed or brought no usable key.
    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    /// Attempts triggered by a token naming an unknown kid.
    pub fn unknown_kid_refetches(&self) -> u64 {
        self.unknown_kid_refetches.load(Ordering::Relaxed)
    }

    /// Unix time of the last successful fetch, 0 if none.
    pub fn last_success_unix(&self) -> u64 {
        self.last_success_unix.load(Ordering::Relaxed)
    }
}

/// Why the cache could not verify a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CacheRejection {
    /// No key set loaded yet: the token may be fine, we cannot tell.
    #[error("signing keys are not loaded yet")]
    NotReady,
    /// The token is not acceptable.
    #[error(transparent)]
    Invalid(#[from] VerifyError),
}

/// Verifies tokens with the auth server's keys, fetched and cached.
#[derive(Debug)]
pub struct JwksCache {
    pub(super) settings: CacheSettings,
    /// `None` for a static key set: nothing to fetch.
    pub(super) source: Option<JwksSource>,
    current: ArcSwapOption<Epoch>,
    /// When the last unknown-kid refetch started; held across that fetch, so
    /// concurrent requests queue behind it instead of fetching again.
    refetch_gate: tokio::sync::Mutex<Option<Instant>>,
    stats: FetchStats,
    /// Refused tokens by [`VerifyError::reason`]; touched only on failures.
    rejections: Mutex<BTreeMap<&'static str, u64>>,
}

impl JwksCache {
    /// A cache that fetches from `source`. It starts empty (not ready): run
    /// [`super::spawn_refresher`] to load and refresh it.
    pub fn remote(settings: CacheSettings, source: JwksSource) -> Self {
        Self {
            settings,
            source: Some(source),
            current: ArcSwapOption::empty(),
            refetch_gate: tokio::sync::Mutex::new(None),
            stats: FetchStats::default(),
            rejections: Mutex::default(),
        }
    }

    /// A cache over a fixed key set that never fetches (the `--jwks-file`
    /// mode). Fails if the set holds no usable key.
    pub fn fixed(settings: CacheSettings, set: &JwkSet) -> Result<Self, FetchError> {
        let cache = Self {
            settings,
            source: None,
            current: ArcSwapOption::empty(),
            refetch_gate: tokio::sync::Mutex::new(None),
            stats: FetchStats::default(),
            rejections: Mutex::default(),
        };
        cache.install(set)?;
        Ok(cache)
    }

    /// Whether a key set is loaded, so tokens can be verified.
    pub fn is_ready(&self) -> bool {
        self.current.load().is_some()
    }

    /// How many keys are trusted now.
    pub fn key_count(&self) -> usize {
        self.current
            .load()
            .as_ref()
            .map_or(0, |e| e.verifier.keys().len())
    }

    /// Entries in the verified-token cache of the current key set.
    pub fn verified_len(&self) -> usize {
        self.current.load().as_ref().map_or(0, |e| e.tokens.len())
    }

    /// `(hits, misses)` of the current key set's verified-token cache
    /// (they restart from zero when the key set is replaced).
    pub fn verified_stats(&self) -> (u64, u64) {
        self.current.load().as_ref().map_or((0, 0), |e| {
            let stats: &VerifiedStats = e.tokens.stats();
            (stats.hits(), stats.misses())
        })
    }

    /// Fetch counters.
    pub fn stats(&self) -> &FetchStats {
        &self.stats
    }

    /// Refused tokens so far, by [`VerifyError::reason`].
    pub fn rejections(&self) -> Vec<(&'static str, u64)> {
        let counts = self
            .rejections
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        counts.iter().map(|(reason, n)| (*reason, *n)).collect()
    }

    /// The JWKS URL, if this cache fetches.
    pub fn source_url(&self) -> Option<&str> {
        self.source.as_ref().map(|s| s.url().as_str())
    }

    /// Fetches the key set once and installs it if it has a usable key.
    /// On failure the cached keys stay as they were.
    pub async fn refresh(&self) -> Result<usize, FetchError> {
        let Some(source) = &self.source else {
            return Ok(self.key_count());
        };
        self.stats.fetches.fetch_add(1, Ordering::Relaxed);
        let result = match source.fetch().await {
            Ok(set) => self.install(&set),
            Err(error) => Err(error),
        };
        match &result {
            Ok(_) => self
                .stats
                .last_success_unix
                .store(unix_now(), Ordering::Relaxed),
            Err(_) => {
                self.stats.failures.fetch_add(1, Ordering::Relaxed);
            }
        }
        result
    }

    /// Verifies `token`, refetching the keys first when it names a key we
    /// do not know (the auth server may have rotated).
    pub async fn verify_token(&self, token: &str) -> Result<AccessClaims, CacheRejection> {
        let result = self.verify_uncounted(token).await;
        if let Err(CacheRejection::Invalid(error)) = &result {
            let mut counts = self
                .rejections
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            *counts.entry(error.reason()).or_default() += 1;
        }
        result
    }

    async fn verify_uncounted(&self, token: &str) -> Result<AccessClaims, CacheRejection> {
        // Fast path: one atomic load, no await, no allocation of our own.
        let seen = {
            let guard = self.current.load();
            let Some(epoch) = guard.as_ref() else {
                return Err(CacheRejection::NotReady);
            };
            match epoch.verify(token) {
                Err(VerifyError::UnknownKey { .. }) => Arc::clone(epoch),
                other => return Ok(other?),
            }
        };
        Ok(self.verify_after_refetch(token, seen).await?)
    }

    /// The slow path of [`Self::verify_token`]: `seen` did not know the kid.
    async fn verify_after_refetch(
        &self,
        token: &str,
        seen: Arc<Epoch>,
    ) -> Result<AccessClaims, VerifyError> {
        let unknown = || VerifyError::UnknownKey { kid: None };
        if self.source.is_none() {
            return seen.verify(token);
        }
        let mut last_refetch = self.refetch_gate.lock().await;
        // Someone installed a newer set while we waited (another request's
        // refetch or the background refresh): that is the one to ask.
        let latest = self.current.load_full().ok_or_else(unknown)?;
        if !Arc::ptr_eq(&latest, &seen) {
            return latest.verify(token);
        }
        if last_refetch.is_some_and(|at| at.elapsed() < self.settings.unknown_kid_cooldown) {
            return seen.verify(token);
        }
        *last_refetch = Some(Instant::now());
        self.stats
            .unknown_kid_refetches
            .fetch_add(1, Ordering::Relaxed);
        debug!("token names an unknown key id; refetching the key set");
        if let Err(error) = self.refresh().await {
            warn!(
                "refetching the key set for an unknown key id failed, keeping cached keys: {}",
                error_chain(&error)
            );
        }
        drop(last_refetch);
        let latest = self.current.load_full().ok_or_else(unknown)?;
        latest.verify(token)
    }

    /// Trusts the usable keys of `set`, logging the refused ones, and swaps
    /// them in unless there are none.
    fn install(&self, set: &JwkSet) -> Result<usize, FetchError> {
        let (keys, rejections) = TrustedKeys::from_jwks(set, &self.settings.verifier.algorithms);
        for rejection in &rejections {
            warn!("JWKS key not trusted: {rejection}");
        }
        if keys.is_empty() {
            return Err(FetchError::NoUsableKeys);
        }
        let count = keys.len();
        let new_kids = sorted_kids(&keys);
        // A fresh verified-token cache with every key set, even an unchanged
        // one: telling "same keys" apart would need comparing key material,
        // and refilling costs one verification per live token per refresh.
        let epoch = Epoch {
            tokens: VerifiedTokens::new(
                self.settings.verified_capacity,
                leeway_secs(&self.settings.verifier),
            ),
            verifier: Verifier::new(self.settings.verifier.clone(), keys),
        };
        let previous = self.current.swap(Some(Arc::new(epoch)));
        let old_kids = previous.as_ref().map(|e| sorted_kids(e.verifier.keys()));
        if old_kids.as_ref() != Some(&new_kids) {
            info!("trusting {count} signing key(s): {}", new_kids.join(", "));
        }
        Ok(count)
    }
}

/// One key set: the verifier for it and the tokens it has verified. Swapped
/// as a unit, so a cached verdict can never outlive the keys behind it.
#[derive(Debug)]
pub(super) struct Epoch {
    verifier: Verifier,
    tokens: VerifiedTokens,
}

impl Epoch {
    /// A cached verdict if there is one, else a full verification (whose
    /// success is then cached). The size limit comes first, so an oversized
    /// token is refused before we spend a hash on it.
    fn verify(&self, token: &str) -> Result<AccessClaims, VerifyError> {
        let now = unix_now_secs();
        if token.len() > self.verifier.config().max_token_bytes {
            return self.verifier.verify_at(token, now);
        }
        let digest = TokenDigest::of(token);
        if let Some(claims) = self.tokens.get(&digest, now) {
            return Ok(claims);
        }
        let claims = self.verifier.verify_at(token, now)?;
        self.tokens.insert(digest, &claims, now);
        Ok(claims)
    }
}

/// The verifier's leeway in whole seconds, saturating as the verifier does.
fn leeway_secs(config: &VerifierConfig) -> i64 {
    i64::try_from(config.leeway.as_secs()).unwrap_or(i64::MAX)
}

/// The verifier's clock: Unix seconds, 0 before 1970.
fn unix_now_secs() -> i64 {
    i64::try_from(unix_now()).unwrap_or(i64::MAX)
}

fn sorted_kids(keys: &TrustedKeys) -> Vec<String> {
    let mut kids: Vec<String> = keys.kids().map(str::to_owned).collect();
    kids.sort_unstable();
    kids
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl TokenVerifier for JwksCache {
    fn verify<'a>(
        &'a self,
        token: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<AccessClaims, VerifyError>> + 'a>> {
        Box::pin(async move {
            self.verify_token(token)
                .await
                .map_err(|rejection| match rejection {
                    CacheRejection::Invalid(error) => error,
                    // The extractor asks `is_ready` first and keys are never
                    // unloaded, so this is unreachable in practice; "no key
                    // for this token" is the truthful answer if it happens.
                    CacheRejection::NotReady => VerifyError::UnknownKey { kid: None },
                })
        })
    }

    fn is_ready(&self) -> bool {
        JwksCache::is_ready(self)
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use ed25519_dalek::SigningKey;
    use ed25519_dalek::pkcs8::EncodePrivateKey as _;
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    use shared_claims::Jwk;

    use super::*;

    const ISSUER: &str = "https://auth.test";
    const AUDIENCE: &str = "resource-server";

    struct Key {
        kid: &'static str,
        signing: SigningKey,
    }

    impl Key {
        fn new(kid: &'static str, seed: u8) -> Self {
            Self {
                kid,
                signing: SigningKey::from_bytes(&[seed; 32]),
            }
        }

        fn jwk(&self) -> Jwk {
            Jwk::ed25519(
                self.kid.to_owned(),
                URL_SAFE_NO_PAD.encode(self.signing.verifying_key().as_bytes()),
            )
        }

        fn token(&self, exp_in: i64) -> String {
            let now = unix_now_secs();
            let mut header = Header::new(Algorithm::EdDSA);
            header.typ = Some("at+jwt".into());
            header.kid = Some(self.kid.into());
            let claims = serde_json::json!({
                "iss": ISSUER, "sub": "alice", "aud": AUDIENCE,
                "exp": now + exp_in, "iat": now, "nbf": now,
                "jti": "j1", "client_id": "app", "scope": "notes:read",
            });
            let der = self.signing.to_pkcs8_der().expect("pkcs8");
            jsonwebtoken::encode(&header, &claims, &EncodingKey::from_ed_der(der.as_bytes()))
                .expect("sign")
        }
    }

    fn set(keys: &[&Key]) -> JwkSet {
        JwkSet {
            keys: keys.iter().map(|k| k.jwk()).collect(),
        }
    }

    fn cache_trusting(keys: &[&Key]) -> JwksCache {
        let settings = CacheSettings::new(VerifierConfig::new(ISSUER, AUDIENCE));
        JwksCache::fixed(settings, &set(keys)).expect("usable keys")
    }

    #[tokio::test]
    async fn a_reused_token_is_answered_from_the_cache() {
        let old = Key::new("old", 1);
        let cache = cache_trusting(&[&old]);
        let token = old.token(60);

        let first = cache.verify_token(&token).await.expect("valid");
        let second = cache.verify_token(&token).await.expect("valid");

        assert_eq!(first, second);
        assert_eq!(cache.verified_stats(), (1, 1));
        assert_eq!(cache.verified_len(), 1);
    }

    #[tokio::test]
    async fn a_removed_keys_cached_token_is_refused_after_the_key_set_changes() {
        let old = Key::new("old", 1);
        let new = Key::new("new", 2);
        let cache = cache_trusting(&[&old]);
        let token = old.token(60);
        cache.verify_token(&token).await.expect("valid");
        assert_eq!(cache.verified_len(), 1);

        cache.install(&set(&[&new])).expect("usable");

        assert_eq!(cache.verified_len(), 0);
        assert!(matches!(
            cache.verify_token(&token).await,
            Err(CacheRejection::Invalid(VerifyError::UnknownKey { .. }))
        ));
    }

    #[tokio::test]
    async fn refused_tokens_are_not_cached() {
        let trusted = Key::new("k", 1);
        let forger = Key::new("k", 9); // same kid, other key
        let cache = cache_trusting(&[&trusted]);
        let forged = forger.token(60);

        for _ in 0..2 {
            assert_eq!(
                cache.verify_token(&forged).await,
                Err(CacheRejection::Invalid(VerifyError::BadSignature))
            );
        }
        assert_eq!(cache.verified_len(), 0);
    }
}
