//! `loadgen --soak SECS`: minutes of mixed load against one auth server
//! (SQLite) and one resource server, every answer checked against what the
//! contract says it must be, and both servers' memory sampled as it runs.
//!
//! Five workloads run at once, each on its own connections:
//!
//! - `refresh_chains`: rotations, each presenting the token the previous
//!   one returned (200 with a new refresh token);
//! - `client_credentials`: 200 with an access token, which `resource_me`
//!   then presents once (a token the resource server has not seen);
//! - `resource_me`: `GET /api/me` with those fresh tokens, with reused ones
//!   when none is waiting (200), and every 16th with garbage (401);
//! - `introspect`: a live access token (`"active": true`) and garbage
//!   (exactly `{"active": false}`), alternately;
//! - `sessions`: a login, a refresh, a replay of the used token (400
//!   `invalid_grant`), the new token refused because the replay revoked its
//!   family (400), a second login, its revocation (200), and a refresh with
//!   the revoked token (400).
//!
//! It passes when no answer differed from the expected one and neither
//! server's resident memory grew in the last third of the run beyond noise
//! (caches fill during the first third). The result goes to `--out`
//! (`bench/results/soak.json`); a failure exits non-zero.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use e2e_tests::fixture::ResourceServer;
use hdrhistogram::Histogram;
use serde_json::{Value, json};

use crate::drive::{self, Outcome, Until, Work};
use crate::http::{self, Response};
use crate::scenarios::{Auth, address, field};
use crate::system;

/// Memory is sampled, and progress printed, once per window.
const WINDOW: Duration = Duration::from_secs(10);
/// Access tokens waiting to be presented to the resource server once.
const FRESH_TOKENS: usize = 10_000;
/// Unexpected answers kept per workload, for the report.
const FAILURES_KEPT: usize = 5;
/// Growth of resident memory over the last third of the run that still
/// counts as flat (the larger of the two bounds applies). The resource
/// server's RSS swings by about 4 MiB as its verified-token cache fills and
/// sweeps, so the floor sits above that; a leak of even 100 bytes per
/// request passes it within seconds at these rates.
const FLAT_FRACTION: f64 = 0.10;
const FLAT_KIB: u64 = 8 * 1024;

/// Counters of one workload over the whole soak.
struct Tally {
    name: &'static str,
    ok: u64,
    errors: u64,
    latency_us: Histogram<u64>,
    failures: RefCell<Vec<String>>,
}

impl Tally {
    fn new(name: &'static str) -> Self {
        Self {
            name,
            ok: 0,
            errors: 0,
            latency_us: drive::new_histogram(),
            failures: RefCell::new(Vec::new()),
        }
    }

    /// Whether `response` has `status` (and, if given, contains `needle`);
    /// if not, the answer is kept for the report.
    fn expect(&self, response: &Response, status: u16, needle: Option<&str>) -> bool {
        let body = String::from_utf8_lossy(&response.body);
        let ok = response.status == status && needle.is_none_or(|n| body.contains(n));
        if !ok {
            let mut failures = self.failures.borrow_mut();
            if failures.len() < FAILURES_KEPT {
                failures.push(format!(
                    "expected {status}{}, got {} {body}",
                    needle.map_or(String::new(), |n| format!(" with {n}")),
                    response.status,
                ));
            }
        }
        ok
    }

    fn add(&mut self, outcome: &Outcome) {
        self.ok += outcome.ok;
        self.errors += outcome.errors;
        // Both histograms have the same bounds, so adding cannot fail.
        let _ = self.latency_us.add(&outcome.latency_us);
    }

    fn report(&self, seconds: f64) -> Value {
        let h = &self.latency_us;
        json!({
            "name": self.name,
            "requests": self.ok + self.errors,
            "errors": self.errors,
            "rps": self.ok as f64 / seconds,
            "p50_us": h.value_at_quantile(0.50),
            "p99_us": h.value_at_quantile(0.99),
            "max_us": h.max(),
            "unexpected_answers": *self.failures.borrow(),
        })
    }
}

/// Where one `sessions` connection is in its cycle.
#[derive(Default)]
struct Session {
    step: u8,
    current: String,
    used: String,
}

/// Runs the soak for `length`; returns the JSON report, or an error when
/// it failed (after `report` has received it).
pub fn run(length: Duration, report: &mut Option<Value>) -> Result<()> {
    if length < 3 * WINDOW {
        bail!("--soak needs at least {} seconds", 3 * WINDOW.as_secs());
    }
    let auth = Auth::start(None, &[])?;
    let api = ResourceServer::builder(&auth.server)
        .leeway(None)
        .env("RUST_LOG", "warn")
        .start()?;
    let (api_addr, api_host) = address(api.url())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;

    let mut tallies = [
        "refresh_chains",
        "client_credentials",
        "resource_me",
        "introspect",
        "sessions",
    ]
    .map(Tally::new);
    let [chains_t, cc_t, me_t, intro_t, sessions_t] = &tallies;

    // --- refresh chains ---
    let chains = RefCell::new(runtime.block_on(auth.chains(4))?);
    let chain_next = |i: &mut usize| Some(auth.refresh_request(&chains.borrow()[*i]));
    let chain_check = |i: &mut usize, r: &Response| {
        chains_t.expect(r, 200, Some("refresh_token"))
            && field(r, "refresh_token").is_some_and(|t| {
                chains.borrow_mut()[*i] = t;
                true
            })
    };

    // --- client credentials, feeding the resource server fresh tokens ---
    let fresh: RefCell<VecDeque<String>> = RefCell::new(VecDeque::new());
    let cc_request = auth.client_credentials_request();
    let cc_next = |_: &mut ()| Some(cc_request.clone());
    let cc_check = |_: &mut (), r: &Response| {
        cc_t.expect(r, 200, Some("access_token"))
            && field(r, "access_token").is_some_and(|t| {
                let mut fresh = fresh.borrow_mut();
                if fresh.len() < FRESH_TOKENS {
                    fresh.push_back(t);
                }
                true
            })
    };

    // --- the resource server: fresh, reused and garbage tokens ---
    let reused: Vec<String> = runtime.block_on(async {
        let mut conn = http::Connection::new(auth.addr);
        let mut tokens = Vec::new();
        for _ in 0..64 {
            let response = conn.send(&auth.client_credentials_request()).await?;
            tokens.extend(field(&response, "access_token"));
        }
        anyhow::Ok(tokens)
    })?;
    if reused.is_empty() {
        bail!("client_credentials gave no tokens to start with");
    }
    const GARBAGE: &str = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJub2JvZHkifQ.AAAA";
    let me_next = |n: &mut u64| {
        *n += 1;
        let token = if n.is_multiple_of(16) {
            GARBAGE.to_owned()
        } else {
            let index = usize::try_from(*n).unwrap_or(0) % reused.len();
            fresh
                .borrow_mut()
                .pop_front()
                .unwrap_or_else(|| reused[index].clone())
        };
        Some(http::get(&api_host, "/api/me", Some(&token)))
    };
    let me_check = |n: &mut u64, r: &Response| {
        if n.is_multiple_of(16) {
            me_t.expect(r, 401, Some("invalid_token"))
        } else {
            me_t.expect(r, 200, Some("\"sub\""))
        }
    };

    // --- introspection ---
    let intro_next = |n: &mut u64| {
        *n += 1;
        let token = if n.is_multiple_of(2) {
            GARBAGE
        } else {
            &reused[0]
        };
        Some(auth.introspect_request(token))
    };
    let intro_check = |n: &mut u64, r: &Response| {
        if n.is_multiple_of(2) {
            intro_t.expect(r, 200, None) && r.body == br#"{"active":false}"#
        } else {
            intro_t.expect(r, 200, Some(r#""active":true"#))
        }
    };

    // --- sessions: login, rotation, reuse detection, revocation ---
    let sessions: RefCell<Vec<Session>> =
        RefCell::new(vec![Session::default(), Session::default()]);
    let sessions_next = |i: &mut usize| {
        let sessions = sessions.borrow();
        let s = &sessions[*i];
        Some(match s.step {
            0 | 4 => auth.password_request(),
            1 | 3 | 6 => auth.refresh_request(&s.current),
            2 => auth.refresh_request(&s.used),
            _ => auth.revoke_request(&s.current),
        })
    };
    let sessions_check = |i: &mut usize, r: &Response| {
        let mut sessions = sessions.borrow_mut();
        let s = &mut sessions[*i];
        let ok = match s.step {
            0 | 4 | 1 => {
                let ok = sessions_t.expect(r, 200, Some("refresh_token"));
                if let Some(token) = field(r, "refresh_token") {
                    s.used = std::mem::replace(&mut s.current, token);
                }
                ok
            }
            5 => sessions_t.expect(r, 200, None),
            _ => sessions_t.expect(r, 400, Some("invalid_grant")),
        };
        s.step = (s.step + 1) % 7;
        ok
    };

    let chain_work = Work {
        next: &chain_next,
        check: &chain_check,
    };
    let cc_work = Work {
        next: &cc_next,
        check: &cc_check,
    };
    let me_work = Work {
        next: &me_next,
        check: &me_check,
    };
    let intro_work = Work {
        next: &intro_next,
        check: &intro_check,
    };
    let sessions_work = Work {
        next: &sessions_next,
        check: &sessions_check,
    };

    let windows = length.as_secs().div_ceil(WINDOW.as_secs());
    let mut memory: [Vec<u64>; 2] = [Vec::new(), Vec::new()];
    let mut outcomes = Vec::new();
    let start = Instant::now();
    eprintln!(
        "soak: {windows} windows of {}s of mixed load",
        WINDOW.as_secs()
    );
    for window in 1..=windows {
        let until = Until::Deadline(Instant::now() + WINDOW);
        let results = runtime.block_on(async {
            tokio::join!(
                drive::run(auth.addr, (0..4).collect(), until, None, &chain_work),
                drive::run(auth.addr, vec![(); 2], until, None, &cc_work),
                drive::run(api_addr, vec![0; 8], until, None, &me_work),
                drive::run(auth.addr, vec![0], until, None, &intro_work),
                drive::run(auth.addr, vec![0, 1], until, None, &sessions_work),
            )
        });
        outcomes.push(results);
        let (_, auth_rss) = system::memory_kib(auth.server.pid())?;
        let (_, api_rss) = system::memory_kib(api.pid())?;
        memory[0].push(auth_rss);
        memory[1].push(api_rss);
        let (a, b, c, d, e) = outcomes.last().map_or((0, 0, 0, 0, 0), |(a, b, c, d, e)| {
            (a.errors, b.errors, c.errors, d.errors, e.errors)
        });
        eprintln!(
            "  window {window:>3}/{windows}: RSS auth {:>6} KiB, resource {:>6} KiB; errors {}",
            auth_rss,
            api_rss,
            a + b + c + d + e
        );
    }
    let seconds = start.elapsed().as_secs_f64();
    for (a, b, c, d, e) in &outcomes {
        for (tally, outcome) in tallies.iter_mut().zip([a, b, c, d, e]) {
            tally.add(outcome);
        }
    }
    let errors: u64 = tallies.iter().map(|t| t.errors).sum();
    let growth = memory.each_ref().map(|samples| growth_kib(samples));
    let flat = growth.iter().all(|g| g.1);
    for tally in &tallies {
        let run = tally.report(seconds);
        eprintln!(
            "  {:<20} {:>9} requests {:>8.0} req/s   p99 {:>7} us   errors {}",
            tally.name,
            run["requests"],
            run["rps"].as_f64().unwrap_or(0.0),
            run["p99_us"],
            run["errors"]
        );
        for failure in tally.failures.borrow().iter() {
            eprintln!("    {failure}");
        }
    }
    let memory_report = |samples: &[u64], (growth, flat): (i64, bool)| json!({ "rss_kib_per_window": samples, "growth_last_third_kib": growth, "flat": flat });
    *report = Some(json!({
        "seconds": seconds,
        "window_s": WINDOW.as_secs(),
        "workloads": tallies.iter().map(|t| t.report(seconds)).collect::<Vec<_>>(),
        "errors": errors,
        "memory": {
            "auth-server": memory_report(&memory[0], growth[0]),
            "resource-server": memory_report(&memory[1], growth[1]),
            "auth-server_vm_hwm_kib": system::memory_kib(auth.server.pid())?.0,
            "resource-server_vm_hwm_kib": system::memory_kib(api.pid())?.0,
        },
        "passed": errors == 0 && flat,
    }));
    eprintln!(
        "  RSS growth over the last third: auth {} KiB, resource {} KiB",
        growth[0].0, growth[1].0
    );
    if errors > 0 {
        bail!("{errors} answer(s) differed from the contract");
    }
    if !flat {
        bail!("resident memory kept growing after the first third");
    }
    eprintln!("soak passed: no unexpected answer, flat memory");
    Ok(())
}

/// The growth of resident memory over the last third of the run (the
/// first third fills caches and pools), and whether it is within noise:
/// the peak of the last third against the peak of the middle third.
fn growth_kib(samples: &[u64]) -> (i64, bool) {
    let third = samples.len() / 3;
    let peak = |s: &[u64]| s.iter().copied().max().unwrap_or(0);
    let middle = peak(&samples[third..samples.len() - third]);
    let last = peak(&samples[samples.len() - third..]);
    let growth = i64::try_from(last).unwrap_or(i64::MAX) - i64::try_from(middle).unwrap_or(0);
    let allowed = FLAT_KIB.max((middle as f64 * FLAT_FRACTION) as u64);
    (growth, growth <= i64::try_from(allowed).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::growth_kib;

    #[test]
    fn memory_that_levels_off_is_flat_and_memory_that_climbs_is_not() {
        let levels_off = [
            10_000, 50_000, 60_000, 61_000, 60_500, 61_500, 61_000, 60_000, 61_200,
        ];
        assert!(growth_kib(&levels_off).1);
        let climbs = [
            10_000, 20_000, 30_000, 40_000, 50_000, 60_000, 70_000, 80_000, 90_000,
        ];
        assert!(!growth_kib(&climbs).1);
    }
}
