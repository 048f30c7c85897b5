//! A headless Chromium for tests of the pages the servers serve, driven
//! over WebDriver: `chromedriver` on a free port, owned like the server
//! processes, and a [`fantoccini`] client connected to it.
//!
//! ```no_run
//! use e2e_tests::browser::Browser;
//! # async fn page() -> anyhow::Result<()> {
//! let Some(browser) = Browser::start("login page").await? else {
//!     return Ok(()); // no chromedriver here; the reason was printed
//! };
//! browser.client().goto("http://127.0.0.1:8080/playground").await?;
//! browser.close().await?;
//! # Ok(())
//! # }
//! ```
//!
//! Where the programs are: `CHROMEDRIVER` and `CHROME_BIN` when set, else
//! `chromedriver` and `chromium` on the `PATH` (Debian's `chromium-driver`
//! and `chromium` packages). Without chromedriver a test is skipped with a
//! printed reason, except under CI (`CI` set), where it fails: a browser
//! test that silently never runs would hide a broken setup.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use serde_json::{Value, json};
use tempfile::TempDir;

/// How long chromedriver may take to say which port it listens on, and
/// then to answer `/status` ready.
const DRIVER_START_TIMEOUT: Duration = Duration::from_secs(20);
/// Pause between two `/status` probes.
const POLL_INTERVAL: Duration = Duration::from_millis(50);
/// How long chromedriver may take to exit after SIGTERM.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// Big enough that the pages lay out as on a laptop (and in screenshots).
const WINDOW_SIZE: &str = "1400,1000";

/// A headless Chromium session. [`Browser::close`] ends it cleanly; dropping
/// it without closing still stops chromedriver and the browser it started.
pub struct Browser {
    client: Client,
    driver: Driver,
    /// Chromium's profile: fresh per browser, removed after it.
    _profile: TempDir,
}

impl std::fmt::Debug for Browser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Browser")
            .field("driver", &self.driver)
            .finish_non_exhaustive()
    }
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session. `Ok(None)`, after
    /// printing why, when chromedriver is not installed and `CI` is unset;
    /// `test` names the caller in that line.
    pub async fn start(test: &str) -> Result<Option<Self>> {
        let Some(chromedriver) = find_program("CHROMEDRIVER", "chromedriver") else {
            let in_ci = std::env::var_os("CI").is_some_and(|value| !value.is_empty());
            if in_ci {
                bail!("chromedriver is not installed, but CI must run the browser tests ({test})");
            }
            println!(
                "skipped {test}: chromedriver is not installed (set CHROMEDRIVER or install chromium-driver)"
            );
            return Ok(None);
        };
        let profile = tempfile::Builder::new()
            .prefix("e2e-chromium-")
            .tempdir()
            .context("cannot create a temporary Chromium profile")?;
        // Blocking work (a child process, a pipe, polling): off the runtime.
        let driver = tokio::task::spawn_blocking(move || Driver::start(&chromedriver))
            .await
            .context("the chromedriver start-up task failed")??;
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities(profile.path()))
            .connect(&driver.url)
            .await
            .with_context(|| format!("cannot open a Chromium session through {}", driver.url))?;
        Ok(Some(Self {
            client,
            driver,
            _profile: profile,
        }))
    }

    /// The WebDriver client: navigate, find elements, click, screenshot.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Ends the session (Chromium quits), then stops chromedriver.
    pub async fn close(self) -> Result<()> {
        let closed = self.client.close().await;
        drop(self.driver);
        closed.context("cannot end the WebDriver session")
    }
}

/// Chromium's options: headless, a throwaway profile, no sandbox as root
/// (Chromium refuses to start as root with it), a fixed window size.
fn capabilities(profile: &Path) -> serde_json::Map<String, Value> {
    let mut args = vec![
        "--headless=new".to_owned(),
        format!("--user-data-dir={}", profile.display()),
        format!("--window-size={WINDOW_SIZE}"),
        // Containers often have a tiny /dev/shm, which crashes tabs.
        "--disable-dev-shm-usage".to_owned(),
        "--no-first-run".to_owned(),
        "--no-default-browser-check".to_owned(),
    ];
    if nix::unistd::geteuid().is_root() {
        args.push("--no-sandbox".to_owned());
    }
    let mut options = json!({ "args": args });
    if let Some(binary) = find_program("CHROME_BIN", "chromium") {
        options["binary"] = json!(binary);
    }
    let capabilities = json!({
        "browserName": "chrome",
        "goog:chromeOptions": options,
    });
    match capabilities {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    }
}

/// `$VARIABLE` if set, else `name` found on the `PATH`.
fn find_program(variable: &str, name: &str) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(variable).filter(|path| !path.is_empty()) {
        return Some(PathBuf::from(path));
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// A running chromedriver, in a process group of its own so that stopping
/// it also stops every browser process it started.
#[derive(Debug)]
struct Driver {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    url: String,
}

impl Driver {
    /// Starts chromedriver on a port the system picks (`--port=0`; it then
    /// prints the real one) and waits until `/status` says it is ready.
    fn start(program: &Path) -> Result<Self> {
        let mut child = Command::new(program)
            .arg("--port=0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .with_context(|| format!("cannot start {}", program.display()))?;
        let stdout = child.stdout.take();
        // Owned from here on: an early return below still stops it.
        let mut driver = Self {
            child,
            url: String::new(),
        };
        let (port_tx, port_rx) = mpsc::channel();
        if let Some(stdout) = stdout {
            // Keeps reading to the end, so chromedriver never blocks on a
            // full pipe.
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if let Some(port) = listening_port(&line) {
                        let _ = port_tx.send(port);
                    }
                }
            });
        }
        let port = port_rx.recv_timeout(DRIVER_START_TIMEOUT).map_err(|_| {
            anyhow!("chromedriver did not say its port within {DRIVER_START_TIMEOUT:?}")
        })?;
        driver.url = format!("http://127.0.0.1:{port}");
        driver.wait_ready()?;
        Ok(driver)
    }

    /// Polls `GET /status` until `value.ready` is true.
    fn wait_ready(&mut self) -> Result<()> {
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()?;
        let status_url = format!("{}/status", self.url);
        let deadline = Instant::now() + DRIVER_START_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                bail!("chromedriver exited while starting ({status})");
            }
            let ready = http
                .get(&status_url)
                .send()
                .and_then(|response| response.json::<Value>())
                .is_ok_and(|body| body["value"]["ready"] == true);
            if ready {
                return Ok(());
            }
            std::thread::sleep(POLL_INTERVAL);
        }
        bail!(
            "chromedriver at {} not ready within {DRIVER_START_TIMEOUT:?}",
            self.url
        )
    }
}

impl Drop for Driver {
    /// SIGTERM to the whole group (chromedriver and its browsers), a grace
    /// period, then SIGKILL to the group.
    fn drop(&mut self) {
        let Ok(pid) = i32::try_from(self.child.id()) else {
            return;
        };
        let group = Pid::from_raw(pid);
        // ESRCH only means everything already exited.
        let _ = killpg(group, Signal::SIGTERM);
        let deadline = Instant::now() + SHUTDOWN_GRACE;
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // Browser processes may outlive chromedriver's own exit.
        let _ = killpg(group, Signal::SIGKILL);
        let _ = self.child.wait();
    }
}

/// `ChromeDriver was started successfully on port 34317.` -> 34317.
fn listening_port(line: &str) -> Option<u16> {
    line.trim()
        .strip_prefix("ChromeDriver was started successfully on port ")?
        .trim_end_matches('.')
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::listening_port;

    #[test]
    fn the_port_is_read_from_chromedrivers_banner() {
        assert_eq!(
            listening_port("ChromeDriver was started successfully on port 34317."),
            Some(34317)
        );
        assert_eq!(listening_port("Only local connections are allowed."), None);
    }
}
