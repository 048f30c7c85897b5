//! The closed-loop driver: a number of connections, each sending its next
//! request as soon as the previous answer arrived (or on a fixed pace),
//! recording every latency in an HdrHistogram.
//!
//! All connections run in one task on one thread: the driver is pinned to
//! its own core, and the servers to the other.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use hdrhistogram::Histogram;

use crate::http::{Connection, Response};

/// How long one request may take before it counts as failed (the
/// connection is then dropped and reopened).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// When a run stops.
#[derive(Debug, Clone, Copy)]
pub enum Until {
    /// At this time (requests in flight then still complete).
    Deadline(Instant),
    /// When every connection's `next` says there is no more work.
    Exhausted,
}

/// What one run measured.
pub struct Outcome {
    pub ok: u64,
    pub errors: u64,
    pub elapsed: Duration,
    /// Latencies in microseconds, successes and failures alike.
    pub latency_us: Histogram<u64>,
}

impl Outcome {
    /// Successful requests per second.
    pub fn rate(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }
}

/// The work of one run: what each connection sends next, and whether an
/// answer counts as a success (it may also update the connection's state,
/// e.g. take the refresh token a refresh returned).
pub struct Work<'a, S> {
    pub next: &'a dyn Fn(&mut S) -> Option<Vec<u8>>,
    pub check: &'a dyn Fn(&mut S, &Response) -> bool,
}

/// Runs one connection per element of `states` against `addr`.
/// `pace`: send at most one request per interval per connection (for
/// latency probes); `None` sends back to back.
pub async fn run<S>(
    addr: SocketAddr,
    states: Vec<S>,
    until: Until,
    pace: Option<Duration>,
    work: &Work<'_, S>,
) -> Outcome {
    let histogram = RefCell::new(new_histogram());
    let counts = RefCell::new((0u64, 0u64));
    let start = Instant::now();
    let connections = states.into_iter().map(|mut state| {
        let histogram = &histogram;
        let counts = &counts;
        async move {
            let mut conn = Connection::new(addr);
            let mut next_at = Instant::now();
            loop {
                if let Until::Deadline(deadline) = until
                    && Instant::now() >= deadline
                {
                    break;
                }
                if let Some(interval) = pace {
                    tokio::time::sleep_until(next_at.into()).await;
                    next_at += interval;
                }
                let Some(request) = (work.next)(&mut state) else {
                    break;
                };
                let sent = Instant::now();
                // A request that never completes is a failure, not a hang.
                let result = match tokio::time::timeout(REQUEST_TIMEOUT, conn.send(&request)).await
                {
                    Ok(result) => result,
                    Err(_) => {
                        conn.reset();
                        Err(anyhow::anyhow!("no answer in {REQUEST_TIMEOUT:?}"))
                    }
                };
                let micros = u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX);
                histogram.borrow_mut().saturating_record(micros.max(1));
                let ok = match &result {
                    Ok(response) => (work.check)(&mut state, response),
                    Err(_) => false,
                };
                let mut c = counts.borrow_mut();
                if ok {
                    c.0 += 1;
                } else {
                    c.1 += 1;
                }
            }
        }
    });
    join_all(connections).await;
    let elapsed = start.elapsed();
    let (ok, errors) = counts.into_inner();
    Outcome {
        ok,
        errors,
        elapsed,
        latency_us: histogram.into_inner(),
    }
}

/// 1 µs to 60 s at 3 significant digits.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("constant, valid bounds")
}
