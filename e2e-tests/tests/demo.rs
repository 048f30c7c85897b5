//! The learner's first command, `cargo run --bin demo -- --keep-running`,
//! run as a learner runs it: the whole story is told, both servers stay up
//! with the playground served, and Ctrl-C (SIGINT) stops everything and
//! leaves nothing behind. (The remote mode, against the compose
//! deployment's configuration, is run by `tests/compose_config.rs`.)

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use e2e_tests::fixture::{BuildOutput, ensure_built};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// The story waits out a 5-second access token; a minute means a hang.
const STORY_TIMEOUT: Duration = Duration::from_secs(90);
const STOP_TIMEOUT: Duration = Duration::from_secs(20);

#[test]
fn the_demo_tells_the_whole_story_keeps_running_and_stops_cleanly_on_ctrl_c() {
    // Given the server binaries, built once for this test binary (the demo
    // itself is told not to build: E2E_NO_BUILD)
    ensure_built(BuildOutput::Captured).expect("the servers build");
    let mut demo = Demo::start();

    // When the story has been told and the servers are kept running
    let playground = demo.wait_for_line(
        |line| line.trim_start().starts_with("http://") && line.ends_with("/playground"),
        "the playground URL",
    );
    let story = demo.output();

    // Then every act of the lifecycle was narrated, in order
    let acts = [
        "Log in",
        "Call the API",
        "expire",
        "Refresh",
        "Replay the old refresh token",
        "Reuse detected",
    ];
    let mut from = 0;
    for act in acts {
        let at = story[from..]
            .find(act)
            .unwrap_or_else(|| panic!("the story lacks {act:?} after byte {from}:\n{story}"));
        from += at + act.len();
    }
    // And the token's header and claims were shown decoded
    for claim in ["\"typ\": \"at+jwt\"", "\"iss\"", "\"exp\""] {
        assert!(
            story.contains(claim),
            "decoded claims lack {claim}:\n{story}"
        );
    }
    // And the learner is handed curl commands for the same story
    assert!(
        story.contains("curl") && story.contains("grant_type=refresh_token"),
        "curl commands to try by hand:\n{story}"
    );
    // And both servers really are up: the playground page answers
    let http = reqwest::blocking::Client::new();
    let page = http
        .get(playground.trim())
        .send()
        .expect("the playground answers");
    assert_eq!(page.status(), 200, "GET {playground}");
    let pids = demo.server_pids();
    assert_eq!(pids.len(), 2, "both servers' pids are printed:\n{story}");

    // When the learner presses Ctrl-C
    demo.interrupt();

    // Then the demo stops both servers and says so
    let status = demo.wait(STOP_TIMEOUT);
    let story = demo.output();
    assert!(
        matches!(status, Some(0 | 130)),
        "the demo ends, successfully or as interrupted, within {STOP_TIMEOUT:?} of \
         Ctrl-C (exit code {status:?}):\n{story}"
    );
    assert!(
        story.contains("Nothing left running") || story.contains("both servers stopped"),
        "the demo says it cleaned up:\n{story}"
    );
    for pid in pids {
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists()
                || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                    .is_ok_and(|stat| stat.contains(") Z ")),
            "server pid {pid} is gone"
        );
    }
    assert!(
        !story.contains("NOT removed"),
        "the temporary database is removed:\n{story}"
    );
}

/// The demo process, its standard output collected line by line.
struct Demo {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Demo {
    fn start() -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_demo"))
            .arg("--keep-running")
            .env("NO_COLOR", "1")
            .env("E2E_NO_BUILD", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the demo starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Reads lines until one satisfies `wanted`, and returns it.
    fn wait_for_line(&mut self, wanted: impl Fn(&str) -> bool, what: &str) -> String {
        let deadline = Instant::now() + STORY_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let found = wanted(&line);
                    self.seen.push(line.clone());
                    if found {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "{what} never came within {STORY_TIMEOUT:?}:\n{}",
                    self.output()
                ),
            }
        }
    }

    /// Everything printed so far.
    fn output(&mut self) -> String {
        while let Ok(line) = self.lines.try_recv() {
            self.seen.push(line);
        }
        self.seen.join("\n")
    }

    /// The pids in the "... (pid N) listening on ..." lines.
    fn server_pids(&mut self) -> Vec<i32> {
        self.output()
            .lines()
            .filter_map(|line| {
                let (_, rest) = line.split_once("(pid ")?;
                let (pid, _) = rest.split_once(')')?;
                pid.parse().ok()
            })
            .collect()
    }

    fn interrupt(&self) {
        let pid = i32::try_from(self.child.id()).expect("a pid fits i32");
        kill(Pid::from_raw(pid), Signal::SIGINT).expect("SIGINT to the demo");
    }

    /// Waits for the demo to exit; its exit code, or `None` on a timeout.
    fn wait(&mut self, limit: Duration) -> Option<i32> {
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                // Take what it printed last: the reader ends at EOF.
                while let Ok(line) = self.lines.recv_timeout(STOP_TIMEOUT) {
                    self.seen.push(line);
                }
                return Some(status.code().unwrap_or(-1));
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
