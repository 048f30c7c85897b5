//! The machine side of a benchmark: CPU pinning, memory readings, `wrk`,
//! and the raw argon2id rate.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

/// Pins every thread of `pid` to `cpus` (a `taskset` list such as `0` or
/// `0,1`). Threads the process starts later inherit it.
pub fn pin(pid: u32, cpus: &str) -> Result<()> {
    let status = Command::new("taskset")
        .args(["-a", "-p", "-c", cpus, &pid.to_string()])
        .stdout(Stdio::null())
        .status()
        .context("running taskset (util-linux)")?;
    if !status.success() {
        bail!("taskset -a -p -c {cpus} {pid} failed: {status}");
    }
    Ok(())
}

/// `VmHWM` (peak resident set) and `VmRSS` of `pid`, in KiB.
pub fn memory_kib(pid: u32) -> Result<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
            .with_context(|| format!("no {name} in /proc/{pid}/status"))
    };
    Ok((field("VmHWM:")?, field("VmRSS:")?))
}

/// Whether `wrk` is on the PATH.
pub fn have_wrk() -> bool {
    Command::new("wrk")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// One `wrk` run (one thread, on core 1 when pinning); returns the run's
/// statistics in the same shape as the driver's.
pub fn wrk(
    url: &str,
    header: Option<&str>,
    connections: usize,
    duration: Duration,
    pin: bool,
) -> Result<Value> {
    let mut command = if pin {
        let mut c = Command::new("taskset");
        c.args(["-c", "1", "wrk"]);
        c
    } else {
        Command::new("wrk")
    };
    command.args([
        "-t1",
        "-c",
        &connections.to_string(),
        "-d",
        &format!("{}s", duration.as_secs()),
        "--latency",
    ]);
    if let Some(header) = header {
        command.args(["-H", header]);
    }
    let output = command.arg(url).output().context("running wrk")?;
    if !output.status.success() {
        bail!(
            "wrk failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    parse_wrk(&String::from_utf8_lossy(&output.stdout))
}

/// Reads requests/s, the latency distribution and the error counts out of
/// `wrk --latency` output.
fn parse_wrk(text: &str) -> Result<Value> {
    let mut rps = None;
    let mut requests = 0u64;
    let mut errors = 0u64;
    let mut percentiles = serde_json::Map::new();
    let mut in_distribution = false;
    for line in text.lines() {
        let line = line.trim();
        if let Some(v) = line.strip_prefix("Requests/sec:") {
            rps = v.trim().parse::<f64>().ok();
        } else if line.starts_with("Latency Distribution") {
            in_distribution = true;
        } else if in_distribution {
            let mut parts = line.split_whitespace();
            match (parts.next(), parts.next()) {
                (Some(p), Some(v)) if p.ends_with('%') => {
                    let key = match p {
                        "50%" => "p50_us",
                        "75%" => "p75_us",
                        "90%" => "p90_us",
                        "99%" => "p99_us",
                        _ => continue,
                    };
                    percentiles.insert(key.into(), json!(wrk_duration_us(v)?));
                }
                _ => in_distribution = false,
            }
        }
        if let Some((count, rest)) = line.split_once(" requests in ") {
            let _ = rest;
            requests = count.trim().parse().unwrap_or(0);
        }
        if let Some(v) = line.strip_prefix("Non-2xx or 3xx responses:") {
            errors += v.trim().parse::<u64>().unwrap_or(0);
        }
        if let Some(v) = line.strip_prefix("Socket errors:") {
            errors += v
                .split(',')
                .filter_map(|part| part.split_whitespace().last()?.parse::<u64>().ok())
                .sum::<u64>();
        }
    }
    let rps = rps.context("no Requests/sec in wrk output")?;
    let mut run = json!({
        "rps": rps,
        "requests": requests,
        "errors": errors,
    });
    if let Some(map) = run.as_object_mut() {
        map.extend(percentiles);
    }
    Ok(run)
}

/// `812.00us`, `1.23ms`, `2.00s` → microseconds.
fn wrk_duration_us(v: &str) -> Result<f64> {
    let (number, scale) = if let Some(n) = v.strip_suffix("us") {
        (n, 1.0)
    } else if let Some(n) = v.strip_suffix("ms") {
        (n, 1_000.0)
    } else if let Some(n) = v.strip_suffix('s') {
        (n, 1_000_000.0)
    } else {
        bail!("unknown wrk duration {v:?}")
    };
    Ok(number.parse::<f64>()? * scale)
}

/// argon2id at the auth server's parameters (m = 19 MiB, t = 2, p = 1;
/// `auth_server::passwords`) on `threads` threads for `duration`: the raw
/// hash rate of this machine, hashes per second.
pub fn argon2_rate(threads: usize, duration: Duration) -> Result<f64> {
    use argon2::{Algorithm, Argon2, Params, Version};
    let params = Params::new(19 * 1024, 2, 1, None).map_err(|e| anyhow::anyhow!("{e}"))?;
    let start = Instant::now();
    let counts: Vec<u64> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let params = params.clone();
                scope.spawn(move || {
                    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
                    let mut out = [0u8; 32];
                    let mut n = 0u64;
                    while start.elapsed() < duration {
                        let ok = argon
                            .hash_password_into(
                                b"correct horse battery",
                                b"0123456789abcdef",
                                &mut out,
                            )
                            .is_ok();
                        n += u64::from(ok);
                    }
                    n
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or(0)).collect()
    });
    Ok(counts.iter().sum::<u64>() as f64 / start.elapsed().as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrk_output_is_parsed() {
        let text = "Running 2s test @ http://127.0.0.1:1/healthz
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   512.00us  100.00us   2.00ms   90.00%
    Req/Sec    60.00k     1.00k   62.00k    80.00%
  Latency Distribution
     50%  500.00us
     75%  600.00us
     90%    0.90ms
     99%    1.50ms
  120000 requests in 2.00s, 10.00MB read
  Non-2xx or 3xx responses: 3
Requests/sec:  59999.50
Transfer/sec:      5.00MB
";
        let run = parse_wrk(text).expect("parsed");
        assert_eq!(run["rps"], 59999.5);
        assert_eq!(run["requests"], 120000);
        assert_eq!(run["errors"], 3);
        assert_eq!(run["p99_us"], 1500.0);
        assert_eq!(run["p50_us"], 500.0);
    }
}
