//! `loadgen`: the load benchmark of BENCHMARKS.md. It starts the real
//! release binaries through the e2e fixture, pins them to core 0 and itself
//! (and `wrk`) to core 1, and measures each scenario `--runs` times:
//!
//! - resource-server `GET /healthz` and `GET /api/me` with one reused token,
//!   driven by `wrk` (an established generator);
//! - `POST /oauth/token` `client_credentials`, by this driver, keeping the
//!   access tokens it gets;
//! - `GET /api/me` with a distinct, never-seen token on every request (the
//!   tokens just collected), by this driver;
//! - refresh chains: N chains in parallel, each request presenting the
//!   refresh token the previous one returned (SQLite, and PostgreSQL when
//!   `TEST_DATABASE_URL` is set);
//! - the password grant saturating the hash pool, with the p99 of refresh
//!   and of the auth server's `/healthz` probed before and during it;
//! - the raw argon2id hash rate of this machine, and each server's peak RSS.
//!
//! Results go to a JSON file (`--out`) that `bench/report.py` turns into the
//! tables and chart of BENCHMARKS.md. Run it with `bench/run-all.sh`.
//!
//! Flags: `--duration SECS` (10), `--runs N` (3), `--connections N` (32),
//! `--chains N` (16), `--out PATH` (`bench/results/loadgen.json`),
//! `--no-pin`.
//!
//! `--soak SECS` runs the soak of [`soak`] instead: minutes of mixed load,
//! every answer checked, memory sampled (`--out` defaults to
//! `bench/results/soak.json`).

// Progress goes to stderr so stdout stays free; this is a command-line tool.
#![allow(clippy::print_stderr)]

mod drive;
mod http;
mod scenarios;
mod soak;
mod system;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};

/// Command-line settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub duration: Duration,
    pub runs: usize,
    pub connections: usize,
    pub chains: usize,
    pub out: Option<PathBuf>,
    pub pin: bool,
    pub soak: Option<Duration>,
}

impl Settings {
    fn from_args() -> Result<Self> {
        let mut settings = Self {
            duration: Duration::from_secs(10),
            runs: 3,
            connections: 32,
            chains: 16,
            out: None,
            pin: true,
            soak: None,
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let mut value = || args.next().with_context(|| format!("{arg} needs a value"));
            match arg.as_str() {
                "--duration" => settings.duration = Duration::from_secs(value()?.parse()?),
                "--runs" => settings.runs = value()?.parse()?,
                "--connections" => settings.connections = value()?.parse()?,
                "--chains" => settings.chains = value()?.parse()?,
                "--out" => settings.out = Some(PathBuf::from(value()?)),
                "--soak" => settings.soak = Some(Duration::from_secs(value()?.parse()?)),
                "--no-pin" => settings.pin = false,
                "--help" | "-h" => {
                    println!(
                        "loadgen [--duration SECS] [--runs N] [--connections N] [--chains N] [--out PATH] [--no-pin]\n\
                         loadgen --soak SECS [--out PATH]"
                    );
                    std::process::exit(0);
                }
                other => bail!("unknown argument {other:?} (see --help)"),
            }
        }
        if settings.runs == 0 || settings.connections == 0 || settings.chains == 0 {
            bail!("--runs, --connections and --chains must be positive");
        }
        Ok(settings)
    }
}

fn main() -> Result<()> {
    let settings = Settings::from_args()?;
    match settings.soak {
        None => {
            let results = scenarios::run_all(&settings)?;
            write(&settings, "loadgen.json", &results)
        }
        Some(length) => {
            // The report is written whether or not the soak passed: a
            // failed soak's answers are what one needs to read.
            let mut report = None;
            let outcome = soak::run(length, &mut report);
            if let Some(report) = &report {
                write(&settings, "soak.json", report)?;
            }
            outcome
        }
    }
}

/// Writes `results` to `--out`, or to `bench/results/DEFAULT_NAME`.
fn write(settings: &Settings, default_name: &str, results: &serde_json::Value) -> Result<()> {
    let out = settings
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("bench/results").join(default_name));
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&out, serde_json::to_string_pretty(results)?)
        .with_context(|| format!("writing {}", out.display()))?;
    eprintln!("results written to {}", out.display());
    Ok(())
}
