//! The scenarios of BENCHMARKS.md, in the order they run.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use e2e_tests::fixture::{AuthServer, Database, ResourceServer};
use serde_json::{Value, json};

use crate::Settings;
use crate::drive::{self, Outcome, Until, Work};
use crate::http::{self, Connection, Response};
use crate::system;

const USER: &str = "bench-user";
const PASSWORD: &str = "correct horse battery staple";
/// The public first-party client: password and refresh grants.
pub(crate) const APP: &str = "bench-app";
/// The confidential client of the client_credentials grant.
const SERVICE: &str = "bench-service";
const AUDIENCE: &str = "resource-server";
/// Logins in flight during the password scenario: enough to keep every
/// hash worker busy with a queue behind it.
const LOGIN_CONNECTIONS: usize = 8;
/// Pace of the latency probes that run beside the logins.
const PROBE_INTERVAL: Duration = Duration::from_millis(20);
/// The overload: this many clients each trying one login per
/// `OVERLOAD_INTERVAL` (about 10x what two hash threads serve), to see the
/// hash queue's bound answer 503 at once while refresh and `/healthz` keep
/// their latency. Paced rather than closed-loop: a client turned away with
/// 503 and Retry-After does not retry within microseconds.
const OVERLOAD_CONNECTIONS: usize = 96;
const OVERLOAD_INTERVAL: Duration = Duration::from_millis(100);

/// A deployment under test: an auth server with our user and clients.
pub(crate) struct Auth {
    pub(crate) server: AuthServer,
    pub(crate) addr: SocketAddr,
    pub(crate) host: String,
    /// `bench-service`'s Basic credentials (base64).
    pub(crate) basic: String,
}

impl Auth {
    pub(crate) fn start(database: Option<Database>, args: &[&str]) -> Result<Self> {
        let mut builder = AuthServer::builder()
            .env("RUST_LOG", "warn")
            // The access TTL outlives the whole benchmark.
            .access_ttl(Duration::from_secs(3600));
        if let Some(database) = database {
            builder = builder.database(database);
        }
        for arg in args {
            builder = builder.arg(*arg);
        }
        let server = builder.start()?;
        server.add_user(USER, PASSWORD)?;
        server.add_client(APP, &["password", "refresh_token"], "notes:read", AUDIENCE)?;
        let out = server.cli(&[
            "clients",
            "add",
            SERVICE,
            "--confidential",
            "--grant",
            "client_credentials",
            "--scope",
            "notes:read",
            "--audience",
            AUDIENCE,
        ])?;
        let secret = out
            .stdout
            .lines()
            .find_map(|l| l.strip_prefix("client_secret:"))
            .map(str::trim)
            .context("`clients add --confidential` printed no client_secret")?;
        let basic = STANDARD.encode(format!("{SERVICE}:{secret}"));
        let (addr, host) = address(server.url())?;
        Ok(Self {
            server,
            addr,
            host,
            basic,
        })
    }

    pub(crate) fn client_credentials_request(&self) -> Vec<u8> {
        http::post_form(
            &self.host,
            "/oauth/token",
            &format!("Authorization: Basic {}\r\n", self.basic),
            "grant_type=client_credentials",
        )
    }

    pub(crate) fn password_request(&self) -> Vec<u8> {
        http::post_form(
            &self.host,
            "/oauth/token",
            "",
            &format!(
                "grant_type=password&username={USER}&password={}&client_id={APP}",
                PASSWORD.replace(' ', "+")
            ),
        )
    }

    pub(crate) fn refresh_request(&self, token: &str) -> Vec<u8> {
        http::post_form(
            &self.host,
            "/oauth/token",
            "",
            &format!("grant_type=refresh_token&refresh_token={token}&client_id={APP}"),
        )
    }

    /// RFC 7009 revocation of `token` by the public client `bench-app`.
    pub(crate) fn revoke_request(&self, token: &str) -> Vec<u8> {
        http::post_form(
            &self.host,
            "/oauth/revoke",
            "",
            &format!("token={token}&client_id={APP}"),
        )
    }

    /// RFC 7662 introspection of `token` by the confidential `bench-service`.
    pub(crate) fn introspect_request(&self, token: &str) -> Vec<u8> {
        http::post_form(
            &self.host,
            "/oauth/introspect",
            &format!("Authorization: Basic {}\r\n", self.basic),
            &format!("token={token}"),
        )
    }

    /// `n` fresh refresh tokens, one per login: the heads of `n` chains.
    pub(crate) async fn chains(&self, n: usize) -> Result<Vec<String>> {
        let mut conn = Connection::new(self.addr);
        let mut heads = Vec::with_capacity(n);
        for _ in 0..n {
            let response = conn.send(&self.password_request()).await?;
            heads.push(
                field(&response, "refresh_token").context("login for a refresh chain failed")?,
            );
        }
        Ok(heads)
    }
}

/// `http://127.0.0.1:PORT` → its socket address and `Host` value.
pub(crate) fn address(url: &str) -> Result<(SocketAddr, String)> {
    let host = url
        .strip_prefix("http://")
        .context("server URL is not http://")?
        .trim_end_matches('/');
    Ok((host.parse()?, host.to_owned()))
}

/// A string member of a 200 JSON response. The first refusal of the
/// process is printed, so a failing scenario says why.
pub(crate) fn field(response: &Response, name: &str) -> Option<String> {
    if response.status != 200 {
        static SHOWN: std::sync::Once = std::sync::Once::new();
        SHOWN.call_once(|| {
            eprintln!(
                "  first refused request: {} {}",
                response.status,
                String::from_utf8_lossy(&response.body)
            );
        });
        return None;
    }
    let body: Value = serde_json::from_slice(&response.body).ok()?;
    body.get(name)?.as_str().map(str::to_owned)
}

/// One run's statistics, in the shape the report reads.
fn stats(outcome: &Outcome) -> Value {
    let h = &outcome.latency_us;
    json!({
        "rps": outcome.rate(),
        "requests": outcome.ok + outcome.errors,
        "errors": outcome.errors,
        "seconds": outcome.elapsed.as_secs_f64(),
        "p50_us": h.value_at_quantile(0.50),
        "p90_us": h.value_at_quantile(0.90),
        "p99_us": h.value_at_quantile(0.99),
        "p999_us": h.value_at_quantile(0.999),
        "max_us": h.max(),
    })
}

/// Prints one run as it finishes, so a long benchmark shows progress.
fn show(name: &str, run: &Value) {
    eprintln!(
        "  {name:<34} {:>10.0} req/s   p50 {:>8} us   p99 {:>8} us   errors {}",
        run["rps"].as_f64().unwrap_or(0.0),
        run["p50_us"],
        run["p99_us"],
        run["errors"]
    );
}

/// A 1 s warm-up, then `settings.runs` closed-loop runs of
/// `settings.duration`, one connection per entry of `states`; prints and
/// returns each timed run's statistics. Failed requests are reported on
/// stderr as they happen (warm-up included).
fn warm_up_then_measure<S: Clone>(
    runtime: &tokio::runtime::Runtime,
    settings: &Settings,
    name: &str,
    addr: SocketAddr,
    states: &[S],
    work: &Work<'_, S>,
) -> Vec<Value> {
    let mut runs = Vec::new();
    for i in 0..=settings.runs {
        let warm_up = i == 0;
        let length = if warm_up {
            Duration::from_secs(1)
        } else {
            settings.duration
        };
        let outcome = runtime.block_on(drive::run(
            addr,
            states.to_vec(),
            Until::Deadline(Instant::now() + length),
            None,
            work,
        ));
        if outcome.errors > 0 {
            eprintln!("  {name}: {} request(s) failed", outcome.errors);
        }
        if !warm_up {
            let run = stats(&outcome);
            show(name, &run);
            runs.push(run);
        }
    }
    runs
}

fn scenario(name: &str, tool: &str, server: &str, runs: Vec<Value>) -> Value {
    json!({ "name": name, "tool": tool, "server": server, "runs": runs })
}

/// Every scenario; the JSON document `--out` receives.
pub fn run_all(settings: &Settings) -> Result<Value> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let pin = settings.pin && cores >= 2;

    // Measured first, while nothing else runs and before this process is
    // pinned to one core: the machine's raw hash rate, all cores.
    eprintln!("raw argon2id rate on {cores} thread(s)...");
    let argon2_runs: Vec<f64> = (0..settings.runs)
        .map(|_| system::argon2_rate(cores, Duration::from_secs(3)))
        .collect::<Result<_>>()?;
    eprintln!("  {argon2_runs:?} hashes/s");

    // Every server starts before anything is pinned: a child inherits its
    // parent's CPU set, and the servers size their worker and hash pools
    // by the cores they see, which must be the machine's.
    let auth = Auth::start(None, &[])?;
    // The resource server is pinned to one core below, so it gets one HTTP
    // worker, as it would on a one-core host: a second worker on the same
    // core only adds context switches (to both routes compared in 1a).
    let mut api = ResourceServer::builder(&auth.server)
        .leeway(None)
        .env("RUST_LOG", "warn");
    if pin {
        api = api.arg("--http-workers").arg("1");
    }
    let api = api.start()?;
    // The same with one pooled connection: SQLite has one writer at a time
    // anyway, and writers queueing on the pool wait on a condition variable,
    // while writers queueing inside SQLite poll with sleeps.
    let serial = Auth::start(None, &["--db-pool-size", "1"])?;
    let pg = match Database::postgres_from_env()? {
        Some(database) => Some(Auth::start(Some(database), &[])?),
        None => {
            eprintln!("TEST_DATABASE_URL unset: no PostgreSQL refresh scenario");
            None
        }
    };
    if pin {
        system::pin(std::process::id(), "1")?;
        system::pin(auth.server.pid(), "0")?;
        system::pin(api.pid(), "0")?;
        system::pin(serial.server.pid(), "0")?;
        if let Some(pg) = &pg {
            system::pin(pg.server.pid(), "0")?;
        }
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (api_addr, api_host) = address(api.url())?;
    let mut scenarios = Vec::new();

    // --- resource server: unauthenticated baseline and one reused token ---
    let token = runtime.block_on(async {
        let mut conn = Connection::new(auth.addr);
        let response = conn.send(&auth.client_credentials_request()).await?;
        field(&response, "access_token").context("client_credentials failed")
    })?;
    if system::have_wrk() {
        let header = format!("Authorization: Bearer {token}");
        for (name, path, header) in [
            ("resource_healthz", "/healthz", None),
            ("resource_me_same_token", "/api/me", Some(header.as_str())),
        ] {
            let url = format!("{}{path}", api.url());
            // Warm-up: connections, caches, page faults.
            system::wrk(
                &url,
                header,
                settings.connections,
                Duration::from_secs(1),
                pin,
            )?;
            let mut runs = Vec::new();
            for _ in 0..settings.runs {
                let run = system::wrk(&url, header, settings.connections, settings.duration, pin)?;
                show(name, &run);
                runs.push(run);
            }
            scenarios.push(scenario(name, "wrk", "resource-server", runs));
        }
    } else {
        eprintln!("wrk not found: skipping the wrk scenarios (bench/run-all.sh installs it)");
    }

    // --- client_credentials, keeping the tokens for the next scenario ---
    let pool: RefCell<Vec<String>> = RefCell::new(Vec::new());
    {
        let request = auth.client_credentials_request();
        let next = |_: &mut ()| Some(request.clone());
        let check = |_: &mut (), r: &Response| match field(r, "access_token") {
            Some(token) => {
                pool.borrow_mut().push(token);
                true
            }
            None => false,
        };
        let work = Work {
            next: &next,
            check: &check,
        };
        let runs = warm_up_then_measure(
            &runtime,
            settings,
            "auth_client_credentials",
            auth.addr,
            &vec![(); settings.connections],
            &work,
        );
        scenarios.push(scenario(
            "auth_client_credentials",
            "loadgen",
            "auth-server",
            runs,
        ));
    }

    // --- /api/me with a distinct token on every request ---
    {
        let tokens = pool.into_inner();
        let per_run = tokens.len() / settings.runs;
        eprintln!(
            "  ({} distinct tokens collected, {per_run} per run)",
            tokens.len()
        );
        let cursor = RefCell::new(tokens.into_iter());
        let budget = RefCell::new(0usize);
        let next = |_: &mut ()| {
            let mut left = budget.borrow_mut();
            if *left == 0 {
                return None;
            }
            *left -= 1;
            let token = cursor.borrow_mut().next()?;
            Some(http::get(&api_host, "/api/me", Some(&token)))
        };
        let check = |_: &mut (), r: &Response| r.status == 200;
        let work = Work {
            next: &next,
            check: &check,
        };
        let mut runs = Vec::new();
        for _ in 0..settings.runs {
            *budget.borrow_mut() = per_run;
            let outcome = runtime.block_on(drive::run(
                api_addr,
                vec![(); settings.connections],
                Until::Exhausted,
                None,
                &work,
            ));
            let run = stats(&outcome);
            show("resource_me_distinct_tokens", &run);
            runs.push(run);
        }
        scenarios.push(scenario(
            "resource_me_distinct_tokens",
            "loadgen",
            "resource-server",
            runs,
        ));
    }

    // --- refresh chains, per backend ---
    scenarios.push(refresh_chains(&runtime, &auth, settings, "sqlite")?);
    scenarios.push(refresh_chains(&runtime, &serial, settings, "sqlite_pool1")?);
    if let Some(pg) = &pg {
        scenarios.push(refresh_chains(&runtime, pg, settings, "postgres")?);
    }
    drop((serial, pg));

    // Peak memory before the logins, to tell the hash pool's share apart.
    let before_logins = memory(auth.server.pid())?;

    // --- logins saturating the hash pool, with latency probes ---
    if pin {
        // The hash pool may use every core, as in production.
        system::pin(auth.server.pid(), "0,1")?;
    }
    scenarios.extend(password_under_load(&runtime, &auth, settings)?);

    let memory = json!({
        "auth-server": memory(auth.server.pid())?,
        "auth-server_before_logins": before_logins,
        "resource-server": memory(api.pid())?,
    });
    Ok(json!({
        "settings": {
            "duration_s": settings.duration.as_secs(),
            "runs": settings.runs,
            "connections": settings.connections,
            "chains": settings.chains,
            "pinned": pin,
            "cores": cores,
        },
        "argon2id_raw": { "threads": cores, "runs_hashes_per_s": argon2_runs },
        "scenarios": scenarios,
        "memory_kib": memory,
    }))
}

pub(crate) fn memory(pid: u32) -> Result<Value> {
    let (hwm, rss) = system::memory_kib(pid)?;
    Ok(json!({ "vm_hwm": hwm, "vm_rss": rss }))
}

/// `settings.chains` refresh chains in parallel, each request presenting
/// the refresh token the previous one returned.
fn refresh_chains(
    runtime: &tokio::runtime::Runtime,
    auth: &Auth,
    settings: &Settings,
    backend: &str,
) -> Result<Value> {
    let name = format!("auth_refresh_chains_{backend}");
    let heads = runtime.block_on(auth.chains(settings.chains))?;
    let chains = RefCell::new(heads);
    let next = |i: &mut usize| Some(auth.refresh_request(&chains.borrow()[*i]));
    let check = |i: &mut usize, r: &Response| match field(r, "refresh_token") {
        Some(successor) => {
            chains.borrow_mut()[*i] = successor;
            true
        }
        None => false,
    };
    let work = Work {
        next: &next,
        check: &check,
    };
    // A broken chain stays broken (a token lost in a failed exchange is
    // replayed next, which is reuse): the report shows the errors beside
    // the rate, which then means little.
    let chain_ids: Vec<usize> = (0..settings.chains).collect();
    let runs = warm_up_then_measure(runtime, settings, &name, auth.addr, &chain_ids, &work);
    Ok(scenario(&name, "loadgen", "auth-server", runs))
}

/// The p99 of a refresh chain and of `/healthz` on the auth server, alone
/// and then while `LOGIN_CONNECTIONS` logins keep the hash pool saturated.
fn password_under_load(
    runtime: &tokio::runtime::Runtime,
    auth: &Auth,
    settings: &Settings,
) -> Result<Vec<Value>> {
    let chain = RefCell::new(runtime.block_on(auth.chains(1))?);
    let refresh_next = |_: &mut ()| Some(auth.refresh_request(&chain.borrow()[0]));
    let refresh_check = |_: &mut (), r: &Response| match field(r, "refresh_token") {
        Some(successor) => {
            chain.borrow_mut()[0] = successor;
            true
        }
        None => false,
    };
    let refresh = Work {
        next: &refresh_next,
        check: &refresh_check,
    };
    let healthz_request = http::get(&auth.host, "/healthz", None);
    let health_next = |_: &mut ()| Some(healthz_request.clone());
    let ok_check = |_: &mut (), r: &Response| r.status == 200;
    let health = Work {
        next: &health_next,
        check: &ok_check,
    };
    let login_request = auth.password_request();
    let login_next = |_: &mut ()| Some(login_request.clone());
    let login = Work {
        next: &login_next,
        check: &ok_check,
    };
    // Logins refused with 503 (the hash queue is full), counted apart from
    // other failures.
    let refused = std::cell::Cell::new(0u64);
    let overload_check = |_: &mut (), r: &Response| {
        if r.status == 503 {
            refused.set(refused.get() + 1);
        }
        r.status == 200
    };
    let overload = Work {
        next: &login_next,
        check: &overload_check,
    };

    let mut names: [(&str, Vec<Value>); 8] = [
        ("auth_refresh_probe_idle", Vec::new()),
        ("auth_healthz_probe_idle", Vec::new()),
        ("auth_password_logins", Vec::new()),
        ("auth_refresh_probe_during_logins", Vec::new()),
        ("auth_healthz_probe_during_logins", Vec::new()),
        ("auth_password_overload", Vec::new()),
        ("auth_refresh_probe_during_overload", Vec::new()),
        ("auth_healthz_probe_during_overload", Vec::new()),
    ];
    for _ in 0..settings.runs {
        let until = Until::Deadline(Instant::now() + settings.duration);
        let (r, h) = runtime.block_on(async {
            tokio::join!(
                drive::run(auth.addr, vec![()], until, Some(PROBE_INTERVAL), &refresh),
                drive::run(auth.addr, vec![()], until, Some(PROBE_INTERVAL), &health),
            )
        });
        let until = Until::Deadline(Instant::now() + settings.duration);
        let (l, lr, lh) = runtime.block_on(async {
            tokio::join!(
                drive::run(auth.addr, vec![(); LOGIN_CONNECTIONS], until, None, &login),
                drive::run(auth.addr, vec![()], until, Some(PROBE_INTERVAL), &refresh),
                drive::run(auth.addr, vec![()], until, Some(PROBE_INTERVAL), &health),
            )
        });
        let until = Until::Deadline(Instant::now() + settings.duration);
        refused.set(0);
        let (o, or, oh) = runtime.block_on(async {
            tokio::join!(
                drive::run(
                    auth.addr,
                    vec![(); OVERLOAD_CONNECTIONS],
                    until,
                    Some(OVERLOAD_INTERVAL),
                    &overload,
                ),
                drive::run(auth.addr, vec![()], until, Some(PROBE_INTERVAL), &refresh),
                drive::run(auth.addr, vec![()], until, Some(PROBE_INTERVAL), &health),
            )
        });
        for (slot, outcome) in names.iter_mut().zip([r, h, l, lr, lh, o, or, oh]) {
            let mut run = stats(&outcome);
            if slot.0 == "auth_password_overload" {
                run["refused_503"] = json!(refused.get());
            }
            show(slot.0, &run);
            slot.1.push(run);
        }
    }
    Ok(names
        .into_iter()
        .map(|(name, runs)| scenario(name, "loadgen", "auth-server", runs))
        .collect())
}
