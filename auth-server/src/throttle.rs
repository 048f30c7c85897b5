//! Brute-force throttling: may this subject try now from this address, and
//! record how the try went.
//!
//! Two guards use the same policy: password logins (the subject is the
//! username as typed, whether or not such a user exists, so a 429 never
//! reveals existence) and client authentication (the subject is the
//! `client_id`). Each guard counts failures in three tables:
//!
//! - per (subject, address): the tight limit a real user mistyping meets.
//!   A success from that address clears it.
//! - per subject, from all addresses: a higher ceiling against a
//!   distributed attack. Addresses that succeeded for this subject recently
//!   (see [`VOUCH_FOR`]) are exempt, so an attacker flooding one username
//!   from many addresses cannot lock its owner out of a familiar address;
//!   from a new address the owner waits at most one lockout.
//! - per address, for all subjects: credential stuffing from one host.
//!
//! A lockout lasts `lockout`, doubles on each repeat up to `max_lockout`,
//! and the whole history is forgotten once a key is quiet for `window`
//! after its last lockout: nobody is locked out forever.
//!
//! While locked, attempts are refused with 429 before any password or
//! secret is checked, so a correct guess during a lockout learns nothing.
//! Attempts that pass the check at the same moment are all tried: the
//! limits can overshoot by the number of requests in flight.
//!
//! The state is in memory, per instance. Behind a load balancer spreading
//! requests over N instances an attacker gets up to N times the limits;
//! that is accepted because the limits exist to make online guessing slow
//! (the factor is small and fixed), argon2 makes every try costly anyway,
//! and a database-backed counter would put a write on every failed login
//! and a read on every login's path, where the database is the shared
//! resource the service can least spare under attack.

mod table;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

pub use table::Limit;
use table::Table;

/// How long a success from an address exempts that address from the
/// subject's all-addresses ceiling: a user's familiar devices keep working
/// during an attack on their account.
pub const VOUCH_FOR: Duration = Duration::from_secs(30 * 24 * 3600);

/// The failure counts of one guard; 0 turns a limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Failures for one subject from one address.
    pub per_source: u32,
    /// Failures for one subject from all addresses.
    pub per_subject: u32,
    /// Failures from one address, for all subjects.
    pub per_ip: u32,
}

impl Limits {
    /// No limit at all.
    pub const OFF: Self = Self {
        per_source: 0,
        per_subject: 0,
        per_ip: 0,
    };
}

/// Throttling settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleConfig {
    /// Password grant failures.
    pub login: Limits,
    /// Client authentication failures.
    pub client: Limits,
    /// Failures older than this stop counting; a key quiet this long after
    /// its last lockout is forgotten.
    pub window: Duration,
    /// The first lockout; doubles on each repeat.
    pub lockout: Duration,
    /// The longest single lockout.
    pub max_lockout: Duration,
    /// Most keys each table remembers (memory bound).
    pub capacity: usize,
}

impl Default for ThrottleConfig {
    /// A person mistyping gets 5 tries, then waits 30 s; an attacker on one
    /// account from one address gets about 5 guesses per 15 minutes once
    /// the backoff has grown.
    fn default() -> Self {
        Self {
            login: Limits {
                per_source: 5,
                per_subject: 20,
                per_ip: 100,
            },
            client: Limits {
                per_source: 10,
                per_subject: 50,
                per_ip: 100,
            },
            window: Duration::from_secs(15 * 60),
            lockout: Duration::from_secs(30),
            max_lockout: Duration::from_secs(15 * 60),
            capacity: 100_000,
        }
    }
}

/// A refusal: try again after `retry_after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled {
    /// How long until the lockout ends.
    pub retry_after: Duration,
}

impl Throttled {
    /// `Retry-After` seconds: rounded up, at least 1.
    pub fn retry_after_secs(&self) -> u64 {
        let secs = self.retry_after.as_secs();
        if self.retry_after.subsec_nanos() > 0 || secs == 0 {
            secs + 1
        } else {
            secs
        }
    }
}

/// The network one client is assumed to control: an IPv4 address, or the
/// /64 prefix of an IPv6 one (a single host is routinely given a whole /64,
/// and counting its addresses one by one would give it 2^64 fresh tries).
/// IPv4-mapped IPv6 addresses count as the IPv4 address.
pub fn source_network(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !u128::from(u64::MAX);
            IpAddr::V6(prefix.into())
        }
        v4 => v4,
    }
}

/// A subject as the tables key it: a digest, so memory per entry is fixed
/// whatever was typed, and no username (or password typed into the username
/// field) is held in memory longer than the request.
type SubjectKey = [u8; 16];

fn subject_key(subject: &str) -> SubjectKey {
    let digest = Sha256::digest(subject.as_bytes());
    let mut key = [0u8; 16];
    key.copy_from_slice(&digest[..16]);
    key
}

/// The throttle for one kind of credential (logins or client secrets).
#[derive(Debug)]
pub struct Guard {
    per_source: Table<(SubjectKey, IpAddr)>,
    per_subject: Table<SubjectKey>,
    per_ip: Table<IpAddr>,
}

impl Guard {
    /// A guard with `limits` and the shared timing of `config`.
    pub fn new(limits: Limits, config: &ThrottleConfig) -> Self {
        let limit = |max_failures| Limit {
            max_failures,
            window: config.window,
            lockout: config.lockout,
            max_lockout: config.max_lockout.max(config.lockout),
        };
        Self {
            per_source: Table::new(limit(limits.per_source), config.capacity),
            per_subject: Table::new(limit(limits.per_subject), config.capacity),
            per_ip: Table::new(limit(limits.per_ip), config.capacity),
        }
    }

    /// May `subject` be tried from `ip` now? Call before checking the
    /// credential, and refuse with 429 on `Err`.
    pub fn check(&self, subject: &str, ip: IpAddr) -> Result<(), Throttled> {
        self.check_at(subject, ip, Instant::now())
    }

    /// Counts a failed attempt (wrong password, unknown user, wrong secret).
    pub fn record_failure(&self, subject: &str, ip: IpAddr) {
        self.record_failure_at(subject, ip, Instant::now());
    }

    /// Clears the failures of `subject` from `ip`, and exempts `ip` from the
    /// subject's all-addresses ceiling for [`VOUCH_FOR`].
    pub fn record_success(&self, subject: &str, ip: IpAddr) {
        self.record_success_at(subject, ip, Instant::now());
    }

    /// [`Self::check`] at a given time.
    pub fn check_at(&self, subject: &str, ip: IpAddr, now: Instant) -> Result<(), Throttled> {
        let subject = subject_key(subject);
        let source = (subject, ip);
        let subject_lock = if self.per_source.vouched(&source, now) {
            None
        } else {
            self.per_subject.locked(&subject, now)
        };
        let wait = [
            self.per_ip.locked(&ip, now),
            self.per_source.locked(&source, now),
            subject_lock,
        ]
        .into_iter()
        .flatten()
        .max();
        match wait {
            Some(retry_after) => Err(Throttled { retry_after }),
            None => Ok(()),
        }
    }

    /// [`Self::record_failure`] at a given time.
    pub fn record_failure_at(&self, subject: &str, ip: IpAddr, now: Instant) {
        let subject = subject_key(subject);
        // The subject is not logged: a "username" is sometimes a password
        // typed into the wrong field.
        if let Some(lockout) = self.per_source.record_failure(&(subject, ip), now) {
            log::warn!("throttling: a subject locked for {lockout:?} from {ip}");
        }
        if let Some(lockout) = self.per_subject.record_failure(&subject, now) {
            log::warn!("throttling: a subject locked for {lockout:?} from all addresses");
        }
        if let Some(lockout) = self.per_ip.record_failure(&ip, now) {
            log::warn!("throttling: address {ip} locked for {lockout:?}");
        }
    }

    /// [`Self::record_success`] at a given time.
    pub fn record_success_at(&self, subject: &str, ip: IpAddr, now: Instant) {
        let vouch = if self.per_subject.enabled() {
            VOUCH_FOR
        } else {
            // Nothing to be exempt from: keep no entry at all.
            Duration::ZERO
        };
        self.per_source
            .record_success(&(subject_key(subject), ip), now, vouch);
    }
}

/// The guards the server keeps: logins and client authentication.
#[derive(Debug)]
pub struct Throttles {
    /// Password logins, keyed by username.
    pub login: Guard,
    /// Client authentication, keyed by client_id.
    pub client: Guard,
}

impl Throttles {
    /// Both guards, from the settings.
    pub fn new(config: &ThrottleConfig) -> Self {
        Self {
            login: Guard::new(config.login, config),
            client: Guard::new(config.client, config),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const SEC: Duration = Duration::from_secs(1);

    fn config(per_source: u32, per_subject: u32, per_ip: u32) -> ThrottleConfig {
        ThrottleConfig {
            login: Limits {
                per_source,
                per_subject,
                per_ip,
            },
            window: 60 * SEC,
            lockout: 10 * SEC,
            max_lockout: 40 * SEC,
            ..ThrottleConfig::default()
        }
    }

    fn guard(per_source: u32, per_subject: u32, per_ip: u32) -> Guard {
        let config = config(per_source, per_subject, per_ip);
        Guard::new(config.login, &config)
    }

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([203, 0, 113, last])
    }

    fn fail(guard: &Guard, subject: &str, from: IpAddr, times: u32, now: Instant) {
        for _ in 0..times {
            guard.record_failure_at(subject, from, now);
        }
    }

    #[test]
    fn one_address_guessing_one_account_is_locked_with_retry_after() {
        let t0 = Instant::now();
        let g = guard(3, 0, 0);
        fail(&g, "alice", ip(1), 3, t0);
        assert_eq!(
            g.check_at("alice", ip(1), t0 + SEC),
            Err(Throttled {
                retry_after: 9 * SEC
            })
        );
        assert!(g.check_at("alice", ip(2), t0).is_ok(), "other addresses");
        assert!(g.check_at("bob", ip(1), t0).is_ok(), "other accounts");
        assert!(g.check_at("alice", ip(1), t0 + 10 * SEC).is_ok(), "expires");
    }

    #[test]
    fn a_success_clears_that_address_for_that_account() {
        let t0 = Instant::now();
        let g = guard(3, 0, 0);
        fail(&g, "alice", ip(1), 2, t0);
        g.record_success_at("alice", ip(1), t0);
        fail(&g, "alice", ip(1), 2, t0);
        assert!(g.check_at("alice", ip(1), t0).is_ok());
    }

    #[test]
    fn a_distributed_attack_locks_new_addresses_but_not_familiar_ones() {
        let t0 = Instant::now();
        let g = guard(3, 10, 0);
        g.record_success_at("alice", ip(200), t0);
        for attacker in 0..20 {
            fail(&g, "alice", ip(attacker), 1, t0 + SEC);
        }
        assert!(
            g.check_at("alice", ip(100), t0 + SEC).is_err(),
            "the account ceiling holds for unknown addresses"
        );
        assert!(
            g.check_at("alice", ip(200), t0 + SEC).is_ok(),
            "the owner's familiar address is exempt"
        );
        assert!(
            g.check_at("alice", ip(100), t0 + SEC + 10 * SEC).is_ok(),
            "and a new address waits one lockout, not forever"
        );
    }

    #[test]
    fn an_address_guessing_many_accounts_is_locked() {
        let t0 = Instant::now();
        let g = guard(0, 0, 5);
        for (i, name) in ["a", "b", "c", "d", "e"].iter().enumerate() {
            assert!(g.check_at(name, ip(1), t0).is_ok(), "attempt {i}");
            fail(&g, name, ip(1), 1, t0);
        }
        assert!(g.check_at("f", ip(1), t0).is_err());
        assert!(g.check_at("f", ip(2), t0).is_ok());
        g.record_success_at("a", ip(1), t0);
        assert!(
            g.check_at("f", ip(1), t0).is_err(),
            "one valid account does not unlock an address"
        );
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        let wait = |ms| Throttled {
            retry_after: Duration::from_millis(ms),
        };
        assert_eq!(wait(1).retry_after_secs(), 1);
        assert_eq!(wait(1000).retry_after_secs(), 1);
        assert_eq!(wait(1001).retry_after_secs(), 2);
        assert_eq!(wait(0).retry_after_secs(), 1);
    }

    #[test]
    fn an_ipv6_host_counts_as_its_64_prefix() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(source_network(a), source_network(b));
        assert_ne!(source_network(a), source_network(other));
        let mapped: IpAddr = "::ffff:203.0.113.7".parse().unwrap();
        assert_eq!(source_network(mapped), ip(7));
        assert_eq!(source_network(ip(7)), ip(7));
    }

    #[test]
    fn the_defaults_are_on() {
        let defaults = ThrottleConfig::default();
        assert!(defaults.login.per_source > 0 && defaults.client.per_source > 0);
        assert!(defaults.login.per_subject > defaults.login.per_source);
        assert!(defaults.max_lockout >= defaults.lockout);
    }
}
