//! A bounded, in-memory table of recent failures per key, with a lockout
//! that grows on repeat offences and decays when the key goes quiet.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How one table counts and locks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Failures within `window` that trigger a lockout; 0 turns the limit off.
    pub max_failures: u32,
    /// Failures older than this no longer count; a key quiet this long
    /// after its last lockout is forgotten, so its backoff starts over.
    pub window: Duration,
    /// The first lockout; each further one doubles it, up to `max_lockout`.
    pub lockout: Duration,
    /// The longest lockout: nobody is locked out for longer at a time.
    pub max_lockout: Duration,
}

impl Limit {
    /// The lockout after the `strike`-th time the limit was hit (1-based).
    fn lockout_for(&self, strike: u32) -> Duration {
        let factor = 1u32
            .checked_shl(strike.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.lockout
            .checked_mul(factor)
            .unwrap_or(self.max_lockout)
            .min(self.max_lockout)
    }
}

/// What is known about one key.
#[derive(Debug, Clone, Copy)]
struct Entry {
    /// Failures in the current window.
    failures: u32,
    window_start: Instant,
    /// Lockouts since the key was last forgotten: the backoff exponent.
    strikes: u32,
    locked_until: Option<Instant>,
    last_failure: Option<Instant>,
    /// Until when a recent success vouches for this key (see
    /// [`Table::vouched`]).
    vouched_until: Option<Instant>,
}

impl Entry {
    fn new(now: Instant) -> Self {
        Self {
            failures: 0,
            window_start: now,
            strikes: 0,
            locked_until: None,
            last_failure: None,
            vouched_until: None,
        }
    }

    /// When the entry carries no information any more.
    fn expires_at(&self, window: Duration) -> Instant {
        let quiet_since = self.locked_until.or(self.last_failure);
        let failures_expire = quiet_since.map(|t| t + window);
        match (failures_expire, self.vouched_until) {
            (Some(a), Some(b)) => a.max(b),
            (Some(t), None) | (None, Some(t)) => t,
            (None, None) => self.window_start,
        }
    }
}

/// Failures per key, bounded to `capacity` entries.
#[derive(Debug)]
pub struct Table<K> {
    limit: Limit,
    capacity: usize,
    entries: Mutex<HashMap<K, Entry>>,
}

impl<K: Hash + Eq + Clone> Table<K> {
    /// An empty table.
    pub fn new(limit: Limit, capacity: usize) -> Self {
        Self {
            limit,
            capacity: capacity.max(1),
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Whether the limit is on at all.
    pub fn enabled(&self) -> bool {
        self.limit.max_failures > 0
    }

    /// `Some(wait)` while `key` is locked out.
    pub fn locked(&self, key: &K, now: Instant) -> Option<Duration> {
        if !self.enabled() {
            return None;
        }
        let entries = self.lock();
        let until = entries.get(key)?.locked_until?;
        (until > now).then(|| until - now)
    }

    /// Counts a failure; locks the key when it reaches the limit.
    /// Returns the new lockout, if this failure started one.
    pub fn record_failure(&self, key: &K, now: Instant) -> Option<Duration> {
        if !self.enabled() {
            return None;
        }
        let limit = self.limit;
        let mut entries = self.lock();
        if !entries.contains_key(key) {
            self.make_room(&mut entries, now);
        }
        let entry = entries
            .entry(key.clone())
            .or_insert_with(|| Entry::new(now));
        if entry.locked_until.is_some_and(|until| until > now) {
            // Attempts during a lockout are refused before they are tried;
            // one that raced past the check does not extend the lockout.
            return None;
        }
        let quiet_since = entry.locked_until.or(entry.last_failure);
        if quiet_since.is_some_and(|t| now >= t + limit.window) {
            // Quiet for a whole window since the last lockout (or failure):
            // forget the history, so the backoff starts over.
            *entry = Entry {
                vouched_until: entry.vouched_until,
                ..Entry::new(now)
            };
        }
        if now.saturating_duration_since(entry.window_start) >= limit.window {
            entry.failures = 0;
            entry.window_start = now;
        }
        entry.failures += 1;
        entry.last_failure = Some(now);
        if entry.failures < limit.max_failures {
            return None;
        }
        entry.strikes = entry.strikes.saturating_add(1);
        let lockout = limit.lockout_for(entry.strikes);
        entry.locked_until = Some(now + lockout);
        entry.failures = 0;
        entry.window_start = now;
        Some(lockout)
    }

    /// Forgets the key's failures and backoff, and lets a success vouch
    /// for it for `vouch` (zero: forget the key entirely).
    pub fn record_success(&self, key: &K, now: Instant, vouch: Duration) {
        let mut entries = self.lock();
        if vouch.is_zero() {
            entries.remove(key);
            return;
        }
        if !entries.contains_key(key) {
            self.make_room(&mut entries, now);
        }
        let mut entry = Entry::new(now);
        entry.vouched_until = Some(now + vouch);
        entries.insert(key.clone(), entry);
    }

    /// Whether a success was recorded for `key` within its vouching time.
    pub fn vouched(&self, key: &K, now: Instant) -> bool {
        self.lock()
            .get(key)
            .and_then(|e| e.vouched_until)
            .is_some_and(|until| until > now)
    }

    /// Entries held.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether the table is empty.
    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Keeps the table under its capacity before an insert: drops expired
    /// entries, and if none expired, the one closest to expiring. The scan
    /// is O(capacity), but only runs when the table is full, and new keys
    /// arrive no faster than failed attempts, each of which cost an argon2
    /// hash or a database lookup first.
    fn make_room(&self, entries: &mut HashMap<K, Entry>, now: Instant) {
        if entries.len() < self.capacity {
            return;
        }
        let window = self.limit.window;
        entries.retain(|_, e| e.expires_at(window) > now);
        if entries.len() < self.capacity {
            return;
        }
        let oldest = entries
            .iter()
            .min_by_key(|(_, e)| e.expires_at(window))
            .map(|(k, _)| k.clone());
        if let Some(key) = oldest {
            entries.remove(&key);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, Entry>> {
        // A panic while holding the lock cannot leave an entry half-written
        // in a way that matters (each is plain data), so keep serving.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: Duration = Duration::from_secs(1);

    fn limit(max_failures: u32) -> Limit {
        Limit {
            max_failures,
            window: 60 * SEC,
            lockout: 10 * SEC,
            max_lockout: 40 * SEC,
        }
    }

    fn fail_n(table: &Table<&'static str>, key: &'static str, n: u32, now: Instant) {
        for _ in 0..n {
            table.record_failure(&key, now);
        }
    }

    #[test]
    fn the_limit_th_failure_locks_for_the_base_lockout() {
        let t0 = Instant::now();
        let table = Table::new(limit(3), 100);
        fail_n(&table, "k", 2, t0);
        assert_eq!(table.locked(&"k", t0), None);
        assert_eq!(table.record_failure(&"k", t0), Some(10 * SEC));
        assert_eq!(table.locked(&"k", t0 + SEC), Some(9 * SEC));
        assert_eq!(table.locked(&"k", t0 + 10 * SEC), None, "lock expired");
        assert_eq!(table.locked(&"other", t0), None);
    }

    #[test]
    fn repeat_lockouts_double_up_to_the_cap() {
        let t0 = Instant::now();
        let table = Table::new(limit(2), 100);
        let mut now = t0;
        let mut lockouts = Vec::new();
        for _ in 0..4 {
            fail_n(&table, "k", 1, now);
            let lockout = table.record_failure(&"k", now).expect("locks");
            lockouts.push(lockout.as_secs());
            now += lockout;
        }
        assert_eq!(lockouts, [10, 20, 40, 40]);
    }

    #[test]
    fn failures_outside_the_window_do_not_add_up() {
        let t0 = Instant::now();
        let table = Table::new(limit(3), 100);
        fail_n(&table, "k", 2, t0);
        fail_n(&table, "k", 2, t0 + 61 * SEC);
        assert_eq!(table.locked(&"k", t0 + 61 * SEC), None);
    }

    #[test]
    fn a_quiet_key_is_forgotten_so_backoff_decays() {
        let t0 = Instant::now();
        let table = Table::new(limit(1), 100);
        assert_eq!(table.record_failure(&"k", t0), Some(10 * SEC));
        let after_lock = t0 + 10 * SEC;
        assert_eq!(table.record_failure(&"k", after_lock), Some(20 * SEC));
        // Quiet for a window after the second lockout ended: back to the base.
        let quiet = after_lock + 20 * SEC + 60 * SEC;
        assert_eq!(table.record_failure(&"k", quiet), Some(10 * SEC));
    }

    #[test]
    fn failures_during_a_lockout_do_not_extend_it() {
        let t0 = Instant::now();
        let table = Table::new(limit(1), 100);
        table.record_failure(&"k", t0);
        assert_eq!(table.record_failure(&"k", t0 + SEC), None);
        assert_eq!(table.locked(&"k", t0 + SEC), Some(9 * SEC));
    }

    #[test]
    fn success_clears_and_vouches() {
        let t0 = Instant::now();
        let table = Table::new(limit(3), 100);
        fail_n(&table, "k", 2, t0);
        table.record_success(&"k", t0, 100 * SEC);
        assert!(table.vouched(&"k", t0 + 99 * SEC));
        assert!(!table.vouched(&"k", t0 + 100 * SEC));
        fail_n(&table, "k", 2, t0);
        assert_eq!(table.locked(&"k", t0), None, "the count started over");
        table.record_success(&"k", t0, Duration::ZERO);
        assert!(table.is_empty());
    }

    #[test]
    fn a_zero_limit_is_off() {
        let t0 = Instant::now();
        let table = Table::new(limit(0), 100);
        fail_n(&table, "k", 100, t0);
        assert_eq!(table.locked(&"k", t0), None);
        assert!(table.is_empty(), "nothing is stored either");
    }

    #[test]
    fn the_table_never_exceeds_its_capacity() {
        let t0 = Instant::now();
        let table = Table::new(limit(1), 3);
        for (i, key) in ["a", "b", "c", "d", "e"].into_iter().enumerate() {
            table.record_failure(&key, t0 + SEC * u32::try_from(i).unwrap());
        }
        assert_eq!(table.len(), 3);
        // The entries closest to expiring went first; the newest stay locked.
        assert!(table.locked(&"e", t0 + 4 * SEC).is_some());
        assert!(table.locked(&"a", t0 + 4 * SEC).is_none());
    }

    #[test]
    fn expired_entries_are_swept_before_anything_live_is_evicted() {
        let t0 = Instant::now();
        let table = Table::new(limit(5), 2);
        table.record_failure(&"old", t0);
        table.record_failure(&"live", t0 + 100 * SEC);
        table.record_failure(&"new", t0 + 100 * SEC);
        assert_eq!(table.len(), 2);
        fail_n(&table, "live", 4, t0 + 100 * SEC);
        assert!(table.locked(&"live", t0 + 100 * SEC).is_some());
    }
}
