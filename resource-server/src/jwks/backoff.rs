//! Capped exponential backoff with jitter, for retrying the first key fetch.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::time::Duration;

/// Delays that double from `initial` up to `max`. Each delay is jittered to
/// between half and all of its nominal value, so a fleet of resource servers
/// restarted together does not hit a recovering auth server in lockstep.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
    max: Duration,
    // A randomly keyed hasher is the standard library's only source of
    // randomness; jitter needs no cryptographic quality.
    jitter: RandomState,
    attempt: u64,
}

impl Backoff {
    /// Starts at `initial` and never exceeds `max`.
    pub fn new(initial: Duration, max: Duration) -> Self {
        Self {
            next: initial.min(max),
            max,
            jitter: RandomState::new(),
            attempt: 0,
        }
    }

    /// The delay before the next attempt.
    pub fn next_delay(&mut self) -> Duration {
        let nominal = self.next;
        self.next = (self.next * 2).min(self.max);
        self.attempt += 1;
        // A fraction in [0.5, 1.0].
        let fraction = 0.5 + (self.jitter.hash_one(self.attempt) % 1001) as f64 / 2000.0;
        nominal.mul_f64(fraction)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap_within_jitter_bounds() {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        let nominal = [100, 200, 400, 800, 1000, 1000];
        for ms in nominal {
            let delay = backoff.next_delay();
            let nominal = Duration::from_millis(ms);
            assert!(
                delay >= nominal / 2 && delay <= nominal,
                "{delay:?} vs {nominal:?}"
            );
        }
    }
}
